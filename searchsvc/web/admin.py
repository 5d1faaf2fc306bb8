"""Admin endpoints: `POST /admin/reindex` runs the index job now.

Off (404) unless a token is configured (`[admin] token` or `SEARCHSVC_ADMIN_TOKEN`);
then a request needs `Authorization: Bearer <token>`: 401 without it, 403 with a wrong
one (compared in constant time).
"""

from __future__ import annotations

import hmac
import threading

from flask import Blueprint, Response, abort, current_app, jsonify, request

from searchsvc.index import index_busy
from searchsvc.scheduler import start_run, supervise
from searchsvc.web.errors import error_response

admin_bp = Blueprint("admin", __name__)


def _authorised() -> Response | None:
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
    denied = _authorised()
    if denied is not None:
        return denied
    config = current_app.config["SEARCHSVC"]
    if index_busy(config.index.dir):
        return error_response(409, "an index run is already under way; see /stats")
    proc = start_run(config)
    # Reap the child when it ends (no zombie left behind), killing it past its time limit.
    threading.Thread(target=supervise, args=(proc, config), daemon=True).start()
    response = jsonify({"status": "started", "pid": proc.pid, "stats": "/stats"})
    response.status_code = 202
    return response
