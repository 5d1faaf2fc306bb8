"""One error shape everywhere: `{"error": {"code": ..., "message": ...}}`.

Nothing a client sends produces a 500 or a traceback: bad requests are 400s that say what
is wrong; an unexpected failure is logged here and answered with a 500 that says nothing
of the code, paths or versions.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from searchsvc.index import IndexUnavailable
from searchsvc.query import QueryError

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    429: "too_many_requests",
    431: "headers_too_large",
    500: "internal_error",
    503: "unavailable",
}


def error_response(status: int, message: str, **extra: Any) -> Response:
    body: dict[str, Any] = {"code": CODES.get(status, "error"), "message": message}
    body.update(extra)
    response = jsonify({"error": body})
    response.status_code = status
    return response


def register(app: Flask) -> None:
    @app.errorhandler(QueryError)
    def _query_error(exc: QueryError) -> Response:
        extra = {"param": exc.param} if exc.param else {}
        return error_response(400, exc.message, **extra)

    @app.errorhandler(IndexUnavailable)
    def _unavailable(exc: IndexUnavailable) -> Response:
        response = error_response(503, str(exc))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = {
            404: "no such endpoint; see /openapi.json",
            405: "method not allowed on this endpoint",
            413: "request body too large",
        }.get(status, exc.description or exc.name)
        response = error_response(status, message)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal error; it has been logged")
