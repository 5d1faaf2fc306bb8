"""Search analytics over HTTP: recording each search, and the editors' report.

Every `/search` and search page answered with a result (`observe.searched`) is handed to
the process's `AnalyticsStore` (`searchsvc/analytics.py`) after the answer is made; the
store only queues it. `GET /admin/analytics` answers the report as JSON and `GET /admin/`
as a page (a table and a bar chart of searches per day, drawn as SVG by the template: no
script, no inline style, within the page CSP). Both need the admin token (off, 404,
without one); the page also takes it as the password of HTTP Basic, so that a browser can
open it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, render_template, request

from searchsvc.analytics import AnalyticsStore, SearchRecord
from searchsvc.config import Config
from searchsvc.query import QueryError
from searchsvc.web.auth import denied
from searchsvc.web.errors import error_response
from searchsvc.web.ui import PAGE_CSP

editors_bp = Blueprint("editors", __name__, template_folder="templates")

MAX_DAYS = 366
MAX_LIMIT = 100


def install(app: Flask, config: Config) -> None:
    """Record searches (when `analytics.enabled`) and serve the report."""
    app.register_blueprint(editors_bp)
    if not config.analytics.enabled:
        return
    metrics = app.extensions.get("searchsvc.metrics")

    def on_drop(reason: str, n: int) -> None:
        if metrics is not None:
            metrics.analytics_dropped.labels(reason).inc(n)

    store = AnalyticsStore(
        config.analytics_file,
        retention_days=config.analytics.retention_days,
        queue_size=config.analytics.queue_size,
        on_drop=on_drop,
    )
    app.extensions["searchsvc.analytics"] = store

    @app.after_request
    def _record(response: Response) -> Response:
        searched = g.get("searched")
        if searched is not None and response.status_code == 200:
            store.record(
                SearchRecord.of(searched.source, searched.req, searched.total, searched.took_ms)
            )
        return response


def _report() -> dict[str, Any] | Response:
    config: Config = current_app.config["SEARCHSVC"]
    token = config.admin.token
    if not token:
        return error_response(404, "the admin endpoints are off (admin.token)")
    refused = denied(token, basic=True)
    if refused is not None:
        return refused
    days = _number("days", 30, MAX_DAYS)
    limit = _number("limit", 20, MAX_LIMIT)
    store = current_app.extensions.get("searchsvc.analytics")
    if store is None:
        return error_response(404, "search analytics are off (analytics.enabled)")
    try:
        return store.report(days, limit)
    except (sqlite3.Error, OSError) as exc:
        response = error_response(503, f"the analytics file cannot be read: {exc}")
        response.headers["Retry-After"] = "60"
        return response


def _number(name: str, default: int, most: int) -> int:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= most:
        raise QueryError(f"{name} must be a whole number from 1 to {most}, got {raw[:40]!r}", name)
    return int(raw)


@editors_bp.get("/admin/analytics")
def analytics() -> Response:
    report = _report()
    return report if isinstance(report, Response) else jsonify(report)


@editors_bp.get("/admin/")
def page() -> Response:
    report = _report()
    if isinstance(report, Response):
        return report
    most = max([d["searches"] for d in report["per_day"]] or [0]) or 1
    html = render_template("analytics.html", report=report, most=most, days=len(report["per_day"]))
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def openapi_paths(errors: Any) -> dict[str, Any]:
    """The OpenAPI path items of /admin/analytics and /admin/ (`errors(*statuses)`)."""

    def count_of(**props: Any) -> dict[str, Any]:
        fields = {"query": {"type": "string"}, **props, "count": {"type": "integer"}}
        return {"type": "array", "items": {"type": "object", "properties": fields}}

    params = [
        {
            "name": "days",
            "in": "query",
            "description": f"the period: the last N days, today included (default 30, "
            f"at most {MAX_DAYS})",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
            "allowEmptyValue": True,
        },
        {
            "name": "limit",
            "in": "query",
            "description": f"rows per list (default 20, at most {MAX_LIMIT})",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            "allowEmptyValue": True,
        },
    ]
    report = {
        "type": "object",
        "properties": {
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "searches": {"type": "integer"},
            "top_queries": count_of(total={"type": "integer"}),
            "zero_result_queries": count_of(),
            "first_page_only": count_of(filters={"type": "object"}, total={"type": "integer"}),
            "per_day": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "day": {"type": "string", "format": "date"},
                        "searches": {"type": "integer"},
                        "zero_results": {"type": "integer"},
                    },
                },
            },
        },
        "required": [
            "from",
            "to",
            "searches",
            "top_queries",
            "zero_result_queries",
            "first_page_only",
            "per_day",
        ],
    }
    common = {"security": [{"bearer": []}], "parameters": params}
    return {
        "/admin/analytics": {
            "get": {
                "summary": "Search analytics for a period: top queries, top queries with no "
                "results, queries nobody paged past page 1, searches per day (admin token; "
                "404 when admin.token or analytics.enabled is off)",
                "operationId": "analytics",
                **common,
                "responses": {
                    "200": {
                        "description": "the report",
                        "content": {"application/json": {"schema": report}},
                    },
                    **errors(401, 403, 404, 503),
                },
            }
        },
        "/admin/": {
            "get": {
                "summary": "The same report as a page for editors (HTML); also takes the "
                "token as the HTTP Basic password",
                "operationId": "analyticsPage",
                **common,
                "responses": {
                    "200": {
                        "description": "the page",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                    **errors(401, 403, 404, 503),
                },
            }
        },
    }
