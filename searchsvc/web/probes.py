"""Liveness and readiness for load balancers and Kubernetes.

- `GET /livez`: the process answers (nothing else is looked at: restarting a worker whose
  index is missing would not bring the index back).
- `GET /readyz`: this worker serves an index and its generation is at most
  `http.ready_intervals` schedule intervals old (on a query host: at most
  `follow.max_behind` generations behind its source) (`searchsvc/index/freshness.py`): a worker
  that answers from a stale or missing index is taken out of rotation before readers see
  it. 503 with the reason otherwise.

`/health` stays as it was (it also checks that index runs can write).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from searchsvc.config import Config, ConfigError
from searchsvc.index import IndexUnavailable
from searchsvc.index.freshness import freshness
from searchsvc.web.errors import error_response

probes_bp = Blueprint("probes", __name__)


@probes_bp.get("/livez")
def livez() -> Response:
    return jsonify({"status": "ok"})


@probes_bp.get("/readyz")
def readyz() -> Response:
    config: Config = current_app.config["SEARCHSVC"]
    index = current_app.extensions["searchsvc.index"]
    try:
        fresh = freshness(index.searcher(), index.index_dir)
    except IndexUnavailable as exc:
        return _not_ready(f"no index served: {exc}")
    if config.follow.source:
        # A query host (docs/scaling.md): ready while it keeps up with its source; the
        # age of its generation is the source's business (when the source is away, every
        # query host keeps serving its last good generation rather than none).
        try:
            index.check_follow(fresh.generation)
        except IndexUnavailable as exc:
            return _not_ready(str(exc))
        return jsonify({"status": "ready", "generation": fresh.generation})
    interval = schedule_seconds(config)
    limit = None if interval is None else interval * config.http.ready_intervals
    age = fresh.age_seconds
    if limit is not None and (age is None or age > limit):
        aged = "of unknown age" if age is None else f"{age:.0f} s old"
        return _not_ready(
            f"the served index generation {fresh.generation} is {aged}, over "
            f"{config.http.ready_intervals} schedule intervals ({limit:.0f} s)"
        )
    return jsonify(
        {
            "status": "ready",
            "generation": fresh.generation,
            "age_seconds": None if age is None else round(age, 1),
            "max_age_seconds": limit,
        }
    )


def _not_ready(message: str) -> Response:
    response = error_response(503, message)
    response.headers["Retry-After"] = "5"
    return response


def schedule_seconds(config: Config) -> float | None:
    """Seconds between scheduled index runs; None when there is no schedule. For a cron
    expression, the gap between its next two times."""
    if not config.schedule.enabled:
        return None
    from searchsvc.scheduler import make_trigger

    try:
        trigger = make_trigger(config)
    except ConfigError:
        return None
    now = dt.datetime.now(dt.UTC)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first) if first else None
    if first is None or second is None:
        return None
    return (second - first).total_seconds()


def openapi_paths(responses: Any) -> dict[str, Any]:
    """The OpenAPI path items of /livez and /readyz (`responses(ok_schema, *errors)`)."""
    status = {"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}}
    ready = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ready"]},
            "generation": {"type": "integer"},
            "age_seconds": {
                "type": "number",
                "nullable": True,
                "description": "seconds since the last successful index run found this "
                "generation current (else since its commit)",
            },
            "max_age_seconds": {
                "type": "number",
                "nullable": True,
                "description": "http.ready_intervals schedule intervals; null: no schedule",
            },
        },
        "required": ["status", "generation", "age_seconds", "max_age_seconds"],
    }
    return {
        "/livez": {
            "get": {
                "summary": "Liveness: the process answers",
                "operationId": "livez",
                "responses": responses(status),
            }
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: an index is served and its generation is at most "
                "http.ready_intervals schedule intervals old (503 with the reason otherwise)",
                "operationId": "readyz",
                "responses": responses(ready, 503),
            }
        },
    }
