"""Admin endpoints: `POST /admin/reindex` runs the index job now.

Off (404) unless a token is configured (`[admin] token` or `SEARCHSVC_ADMIN_TOKEN`);
then a request needs `Authorization: Bearer <token>`: 401 without it, 403 with a wrong
one (compared in constant time).

Requests are coalesced (`searchsvc/reindex.py`): at most one run at work and one waiting,
across every web worker. Each request answers at once: 202 with the run it started or
joined (`run`, `pid`; `joined` when an earlier request started it, `queued` when it waits
for a run under way), or 409 when two index processes are at it already.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, jsonify, request

from searchsvc.reindex import request_run
from searchsvc.web.errors import error_response

admin_bp = Blueprint("admin", __name__)


def authorised() -> Response | None:
    """None when the request carries the admin token; else the answer to give (404 when
    no token is configured, 401, 403). Shared by every admin endpoint."""
    token = current_app.config["SEARCHSVC"].admin.token
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not value:
        response = error_response(401, "this endpoint needs 'Authorization: Bearer <token>'")
        response.headers["WWW-Authenticate"] = 'Bearer realm="searchsvc"'
        return response
    if not hmac.compare_digest(value.strip().encode(), token.encode()):
        return error_response(403, "wrong token")
    return None


@admin_bp.post("/admin/reindex")
def reindex() -> Response:
    denied = authorised()
    if denied is not None:
        return denied
    answer = request_run(current_app.config["SEARCHSVC"])
    if answer is None:
        return error_response(
            409, "an index run is under way and another is waiting for it; see /stats"
        )
    response = jsonify(
        {
            "status": "started",
            "run": answer.run,
            "pid": answer.pid,
            "joined": answer.joined,
            "queued": answer.queued,
            "stats": "/stats",
        }
    )
    response.status_code = 202
    return response
