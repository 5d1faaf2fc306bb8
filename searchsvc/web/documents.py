"""`PUT` and `DELETE /admin/documents/<id>`: a CMS pushes documents (searchsvc/push.py).

Behind the admin token, like `POST /admin/reindex`. HTTP only: the body and its type in,
the status and the parsed document out.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.routing import PathConverter

from searchsvc.push import PushError, delete, put
from searchsvc.web.admin import authorised
from searchsvc.web.errors import error_response

documents_bp = Blueprint("documents", __name__)
TYPES = ("text/markdown", "text/plain")


class AnyPath(PathConverter):
    """Every id, including one that starts with `/` (refused with 400, not 404)."""

    # Werkzeug matches a converter across `/` only when its regex holds one.
    regex = "/*[^/].*?"


@documents_bp.record_once
def _converter(state: Any) -> None:
    state.app.url_map.converters.setdefault("anypath", AnyPath)


@documents_bp.put("/admin/documents/<anypath:doc_id>")
def put_document(doc_id: str) -> Response:
    denied = authorised()
    if denied is not None:
        return denied
    config = current_app.config["SEARCHSVC"]
    if request.mimetype not in TYPES:
        return error_response(415, "send the document as text/markdown or text/plain")
    limit = config.content.max_file_bytes
    data = _read_body(limit + 1)  # bounded, even without a Content-Length (chunked)
    if len(data) > limit:
        return error_response(413, f"larger than content.max_file_bytes ({limit})")
    try:
        pushed = put(config, doc_id, data)
    except PushError as exc:
        return error_response(exc.status, exc.message)
    response = jsonify(pushed.document)
    response.status_code = pushed.status
    return response


def _read_body(most: int) -> bytes:
    """The request body, or its first `most` bytes: a read of a chunked body may return
    less than asked for before its end."""
    parts: list[bytes] = []
    size = 0
    while size < most:
        chunk = request.stream.read(min(65536, most - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


@documents_bp.delete("/admin/documents/<anypath:doc_id>")
def delete_document(doc_id: str) -> Response:
    denied = authorised()
    if denied is not None:
        return denied
    try:
        pushed = delete(current_app.config["SEARCHSVC"], doc_id)
    except PushError as exc:
        return error_response(exc.status, exc.message)
    response = jsonify({"id": doc_id, "deleted": True, "indexed": pushed.status == 200})
    response.status_code = pushed.status
    return response


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI path item of these endpoints (hooked into web/openapi.py's spec)."""
    ident = {
        "name": "doc_id",
        "in": "path",
        "required": True,
        "description": "the document's path relative to the content root, taken by a "
        "content glob (no `..`, hidden part, or link)",
        "schema": {"type": "string"},
    }

    def err(desc: str) -> dict[str, Any]:
        return {
            "description": desc,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }

    auth = {
        # Possible on any path (web/openapi.py's ANY_PATH_ERRORS); 400 and 413 below.
        **{s: {"$ref": f"#/components/responses/E{s}"} for s in ("405", "408", "414", "431")},
        "401": err("no token given"),
        "403": err("wrong token"),
        "404": err("no admin token configured (the endpoints are off), or no such document"),
    }
    doc = {"application/json": {"schema": {"$ref": "#/components/schemas/Document"}}}
    deleted = {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "deleted": {"type": "boolean"},
                    "indexed": {"type": "boolean"},
                },
            }
        }
    }
    bad = err("the id is not a content id, or the document does not parse (the reason)")
    unavailable = err("written, but the index run failed; or the tree cannot be written")
    return {
        "/admin/documents/{doc_id}": {
            "put": {
                "summary": "Write a document into the content tree and index it at once",
                "security": [{"bearer": []}],
                "parameters": [ident],
                "requestBody": {
                    "required": True,
                    "content": {t: {"schema": {"type": "string"}} for t in TYPES},
                },
                "responses": {
                    "200": {"description": "replaced and indexed", "content": doc},
                    "201": {"description": "new and indexed", "content": doc},
                    "202": {
                        "description": "written; searchable when the run under way ends",
                        "content": doc,
                    },
                    "400": bad,
                    **auth,
                    "413": err("larger than content.max_file_bytes"),
                    "415": err("not text/markdown or text/plain"),
                    "503": unavailable,
                },
            },
            "delete": {
                "summary": "Remove a document from the content tree and the index",
                "security": [{"bearer": []}],
                "parameters": [ident],
                "responses": {
                    "200": {"description": "removed", "content": deleted},
                    "202": {
                        "description": "removed; gone when the run under way ends",
                        "content": deleted,
                    },
                    "400": bad,
                    **auth,
                    "413": {"$ref": "#/components/responses/E413"},
                    "503": unavailable,
                },
            },
        }
    }


def watch_schema() -> dict[str, Any]:
    """The `watch` member of /stats: the file watcher (searchsvc/watch.py)."""
    text = {"type": "string", "nullable": True}
    return {
        "type": "object",
        "description": "the file watcher: whether it runs, since when, and its last burst "
        "of changes (when, how many paths, the exit status of its index run)",
        "properties": {
            "running": {"type": "boolean"},
            "since": {**text, "format": "date-time"},
            "last_fired": {**text, "format": "date-time"},
            "last_paths": {"type": "integer", "nullable": True},
            "last_status": {"type": "integer", "nullable": True},
        },
    }
