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


MAX_SUGGEST = 20


@search_bp.get("/suggest")
def suggest() -> Response:
    """Completions for a search box. `format=opensearch` answers in the OpenSearch
    suggestions format (`[query, [completions]]`) that browsers use."""
    args = params()
    q = (args.get("q") or [""])[0]
    if len(q) > 100:
        raise QueryError("q is too long for completions (limit 100 characters)", "q")
    limit = _int_param(args, "limit", 8, MAX_SUGGEST)
    found = index().suggest(q, limit)
    if (args.get("format") or ["json"])[0] == "opensearch":
        response = jsonify([q, [s["text"] for s in found]])
        response.mimetype = "application/x-suggestions+json"
        return response
    return jsonify({"query": q, "suggestions": found})


@events_bp.get("/events/<path:doc_id>/related")
def related(doc_id: str) -> Response:
    args = params()
    limit = _int_param(args, "limit", 10, MAX_RELATED)
    hits = index().related(doc_id, filters_from_params(args), limit)
    if hits is None:
        return error_response(404, f"no document with id {doc_id!r}")
    return jsonify({"id": doc_id, "limit": limit, "hits": [h.to_dict() for h in hits]})


def _int_param(args: dict[str, list[str]], name: str, default: int, most: int) -> int:
    values = args.get(name) or [str(default)]
    raw = values[0].strip()
    if len(values) > 1 or not raw.isdigit() or not 1 <= int(raw) <= most:
        raise QueryError(f"{name} must be a whole number from 1 to {most}", name)
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
