"""The JSON API. Each view translates HTTP into a call of the search layer and back."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from searchsvc.index import SearchIndex
from searchsvc.query import QueryError, filters_from_params, request_from_params
from searchsvc.web.errors import error_response
from searchsvc.web.openapi import spec

search_bp = Blueprint("search", __name__)
events_bp = Blueprint("events", __name__)
meta_bp = Blueprint("meta", __name__)

MAX_RELATED = 50


def index() -> SearchIndex:
    return current_app.extensions["searchsvc.index"]


def params() -> dict[str, list[str]]:
    return request.args.to_dict(flat=False)


@search_bp.get("/search")
def search() -> Response:
    req = request_from_params(params(), current_app.config["SEARCHSVC"].search)
    return jsonify(index().search(req).to_dict())


@events_bp.get("/events/<path:doc_id>/related")
def related(doc_id: str) -> Response:
    args = params()
    limit = _limit(args)
    hits = index().related(doc_id, filters_from_params(args), limit)
    if hits is None:
        return error_response(404, f"no document with id {doc_id!r}")
    return jsonify({"id": doc_id, "limit": limit, "hits": [h.to_dict() for h in hits]})


def _limit(args: dict[str, list[str]]) -> int:
    values = args.get("limit") or ["10"]
    raw = values[0].strip()
    if len(values) > 1 or not raw.isdigit() or not 1 <= int(raw) <= MAX_RELATED:
        raise QueryError(f"limit must be a whole number from 1 to {MAX_RELATED}", "limit")
    return int(raw)


@events_bp.get("/events/<path:doc_id>")
def event(doc_id: str) -> Response:
    doc = index().get(doc_id)
    if doc is None:
        return error_response(404, f"no document with id {doc_id!r}")
    return jsonify(doc)


@meta_bp.get("/health")
def health() -> Any:
    return jsonify(index().health())


@meta_bp.get("/stats")
def stats() -> Response:
    return jsonify(index().stats())


@meta_bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(spec(request.host_url.rstrip("/")))
