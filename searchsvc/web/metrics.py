"""Prometheus metrics at `GET /metrics` (text exposition format), with `prometheus_client`.

Under `searchsvc serve` there are several worker processes: the server points
`PROMETHEUS_MULTIPROC_DIR` at an emptied directory before the workers start
(`searchsvc/server.py`), each worker's counters and histograms live in files there, and a
scrape, whichever worker answers it, adds them all up (prometheus_client's multiprocess
mode). `prometheus_client` is imported only here, inside `install`, after the server has set
that variable: it chooses its mode when first imported.

The index's figures (documents, generation and its age, the index runs) are not counted by
the workers: they are read when scraped, from the index and its run record, so every
worker answers the same.

Requests are counted by endpoint (the Flask route, never the raw path: a client cannot
create series), method and status. See README, "Operating", for the list and alert rules.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request

from searchsvc.config import Config
from searchsvc.index import IndexUnavailable
from searchsvc.index.freshness import freshness, run_seconds, timestamp
from searchsvc.web.auth import denied
from searchsvc.web.errors import error_response
from searchsvc.web.probes import schedule_seconds

metrics_bp = Blueprint("metrics", __name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """This process's counters (in the shared directory in multiprocess mode)."""

    def __init__(self, app: Flask) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

        disable_created_metrics()  # the *_created series: noise for alerting
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        # Not the global registry: tests build many apps in one process.
        self.registry = CollectorRegistry()
        reg = None if self.multiprocess else self.registry
        self.requests = Counter(
            "searchsvc_http_requests",
            "HTTP requests answered, by endpoint (route), method and status",
            ["endpoint", "method", "status"],
            registry=reg,
        )
        self.latency = Histogram(
            "searchsvc_http_request_duration_seconds",
            "Time to answer a request, by endpoint (route)",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.searches = Counter(
            "searchsvc_searches",
            "Searches answered, by source (api, page)",
            ["source"],
            registry=reg,
        )
        self.partial = Counter(
            "searchsvc_searches_partial",
            "Searches whose ranking search.time_limit cut short (partial: true)",
            registry=reg,
        )
        self.analytics_dropped = Counter(
            "searchsvc_analytics_dropped",
            "Search records not written to the analytics file, by reason (queue_full, write_error)",
            ["reason"],
            registry=reg,
        )
        # Known label values start at 0, so that rate() and increase() see the first event.
        for source in ("api", "page"):
            self.searches.labels(source)
        for reason in ("queue_full", "write_error"):
            self.analytics_dropped.labels(reason)
        self.index = IndexCollector(app)
        if not self.multiprocess:
            self.registry.register(self.index)

    def exposition(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest

        if not self.multiprocess:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(self.index)
        return generate_latest(registry)


class IndexCollector:
    """The index's figures, read at each scrape."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        def gauge(name: str, doc: str, value: float | None) -> Iterator[Any]:
            if value is not None:
                yield GaugeMetricFamily(name, doc, value=value)

        index = self.app.extensions["searchsvc.index"]
        try:
            searcher = index.searcher()
            fresh = freshness(searcher, index.index_dir)
        except IndexUnavailable:
            yield GaugeMetricFamily("searchsvc_index_up", "1 when an index is served", value=0)
            return
        yield GaugeMetricFamily("searchsvc_index_up", "1 when an index is served", value=1)
        docs = GaugeMetricFamily(
            "searchsvc_documents", "Documents served, by kind", labels=["kind"]
        )
        for kind in ("event", "source"):
            docs.add_metric([kind], searcher.doc_frequency("kind", kind))
        yield docs
        yield from gauge("searchsvc_index_generation", "Index generation served", fresh.generation)
        yield from gauge(
            "searchsvc_index_generation_age_seconds",
            "Seconds since the last successful index run found the served generation "
            "current (else since its commit)",
            fresh.age_seconds,
        )
        runs = fresh.runs
        last = runs.get("last_run")
        yield from gauge(
            "searchsvc_index_last_run_duration_seconds",
            "Duration of the last index run",
            run_seconds(last),
        )
        if isinstance(last, dict):
            yield from gauge(
                "searchsvc_index_last_run_success",
                "1 when the last index run succeeded, 0 when it failed",
                1.0 if last.get("error") is None else 0.0,
            )
        yield from gauge(
            "searchsvc_index_last_success_timestamp_seconds",
            "Unix time of the end of the last successful index run",
            timestamp(runs.get("last_ok")),
        )
        yield from gauge(
            "searchsvc_index_running",
            "1 while an index run is under way",
            float(bool(runs.get("running"))),
        )
        outcomes = CounterMetricFamily(
            "searchsvc_index_runs", "Index runs, by outcome (ok, failed)", labels=["outcome"]
        )
        counts = runs.get("outcomes") if isinstance(runs.get("outcomes"), dict) else {}
        for outcome in ("ok", "failed"):
            outcomes.add_metric([outcome], float(counts.get(outcome, 0)))
        yield outcomes
        yield from gauge(
            "searchsvc_schedule_interval_seconds",
            "Seconds between scheduled index runs",
            schedule_seconds(self.app.config["SEARCHSVC"]),
        )


def install(app: Flask, config: Config) -> Metrics:
    """Register the counting hooks and /metrics."""
    metrics = Metrics(app)
    app.extensions["searchsvc.metrics"] = metrics

    @app.before_request
    def _start() -> None:
        g.metrics_t0 = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        endpoint = request.url_rule.endpoint if request.url_rule else "none"
        method = request.method if request.method in METHODS else "other"
        metrics.requests.labels(endpoint, method, str(response.status_code)).inc()
        t0 = g.get("metrics_t0")
        if t0 is not None:
            metrics.latency.labels(endpoint).observe(time.perf_counter() - t0)
        searched = g.get("searched")
        if searched is not None:
            metrics.searches.labels(searched.source).inc()
            if searched.partial:
                metrics.partial.inc()
        return response

    app.register_blueprint(metrics_bp)
    return metrics


@metrics_bp.get("/metrics")
def scrape() -> Response:
    config: Config = current_app.config["SEARCHSVC"]
    if not config.metrics.enabled:
        return error_response(404, "metrics are off (metrics.enabled)")
    if config.metrics.token:
        refused = denied(config.metrics.token)
        if refused is not None:
            return refused
    body = current_app.extensions["searchsvc.metrics"].exposition()
    return Response(body, mimetype="text/plain", content_type=CONTENT_TYPE)


def openapi_paths(errors: Any) -> dict[str, Any]:
    """The OpenAPI path item of /metrics (`errors(*statuses)`: the error responses)."""
    return {
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text exposition format); 404 when "
                "metrics.enabled is false, a bearer token when metrics.token is set",
                "operationId": "metrics",
                "security": [{}, {"bearer": []}],
                "responses": {
                    "200": {
                        "description": "the metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **errors(401, 403, 404),
                },
            }
        }
    }


def multiprocess_dir(config: Config) -> tuple[Path, bool]:
    """The emptied directory of the workers' metrics, for `searchsvc serve` to export as
    PROMETHEUS_MULTIPROC_DIR before the workers start: `metrics.dir`, or a new temporary
    one (then `True`: the server removes it when it stops). Files left by an earlier run
    would add its counts to this one's."""
    if config.metrics.dir:
        path = Path(config.metrics.dir)
        path.mkdir(parents=True, exist_ok=True)
        for p in path.iterdir():
            if p.is_file() and p.suffix == ".db":
                p.unlink()
        return path, False
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="searchsvc-metrics-", dir=base)), True


def worker_exited(_server: object, worker: object) -> None:
    """Gunicorn's child_exit hook: a dead worker's live gauges are dropped (its counters
    stay: they are counts of what it answered)."""
    from prometheus_client import multiprocess

    with contextlib.suppress(OSError, KeyError):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
