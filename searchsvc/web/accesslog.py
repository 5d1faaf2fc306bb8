"""Request ids and the access log: one line per request.

Each request gets an id: the client's (or the proxy's) `X-Request-Id` when it is a sane
token (1-64 of `A-Z a-z 0-9 . _ -`), else a new random one. It is echoed in the
`X-Request-Id` header and carried by every log line written while the request is answered
(`searchsvc/logcontext.py`), so an answer, its access line and the app's lines about it
can be joined.

The access line (`log.access`, logger `searchsvc.access`, on standard error), text:

    2026-12-02T00:41:07.512Z GET /search?q=mali 200 5123 4.21 3f1c2a...

(time in UTC, method, path with its query string, status, body bytes as sent (after
compression), milliseconds from the first hook to the last, request id), or as JSON lines
(`"json"`): `{"time", "method", "path", "status", "bytes", "ms", "request_id"}`. No client
address is logged (the proxy in front has it, and the search analytics must not).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, g, request

from searchsvc import logcontext
from searchsvc.config import ACCESS_LOG_FORMATS, Config, ConfigError

FORMATS = ACCESS_LOG_FORMATS
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

access_log = logging.getLogger("searchsvc.access")


def install(app: Flask, config: Config) -> None:
    """Register the request-id hooks and, unless `log.access` is "off", the access line.

    Call it before the hooks that change the body (compression): after-request hooks run
    in the reverse order, so this one sees the bytes as sent."""
    style = config.log.access
    if style not in FORMATS:
        raise ConfigError(f"log.access: {style!r} is not one of {', '.join(FORMATS)}")
    logcontext.install()
    if style != "off":
        _handler()

    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_token = logcontext.request_id.set(g.request_id)
        g.request_t0 = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        rid = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-Id"] = rid
        if style != "off":
            ms = (time.perf_counter() - g.get("request_t0", time.perf_counter())) * 1000
            access_log.info("%s", line(style, rid, response, ms))
        return response

    @app.teardown_request
    def _forget(_exc: BaseException | None) -> None:
        token = g.pop("request_token", None)
        if token is not None:
            logcontext.request_id.reset(token)


def line(style: str, rid: str, response: Response, ms: float) -> str:
    """One access line (see the module's docstring)."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    path = request.full_path if request.query_string else request.path
    size = response.content_length
    if size is None and not response.is_streamed:
        size = len(response.get_data())
    if style == "json":
        fields = {
            "time": now,
            "method": request.method,
            "path": path,
            "status": response.status_code,
            "bytes": size,
            "ms": round(ms, 2),
            "request_id": rid,
        }
        return json.dumps(fields, ensure_ascii=False)
    # Text: spaces and control characters in the path are escaped, one request one line.
    safe = path.encode("unicode_escape").decode("ascii").replace(" ", "%20")
    return f"{now} {request.method} {safe} {response.status_code} {size} {ms:.2f} {rid}"


def _handler() -> None:
    """The access log's own handler: the bare line on standard error, not the app's
    log format (a line per request is for machines: journald, a log shipper)."""
    if access_log.handlers:
        return
    handler = _Stderr()
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever `sys.stderr` is now (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass
