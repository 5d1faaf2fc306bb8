"""The JSON API. Each view translates HTTP into a call of the search layer and back."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from searchsvc.index import IndexUnavailable, SearchIndex
from searchsvc.query import (
    SearchRequest,
    related_from_params,
    request_from_params,
    suggest_from_params,
)
from searchsvc.web.errors import error_response
from searchsvc.web.observe import note
from searchsvc.web.openapi import DOC_ID_EXAMPLE, spec

search_bp = Blueprint("search", __name__)
events_bp = Blueprint("events", __name__)
meta_bp = Blueprint("meta", __name__)
GENERATION_HEADER = "X-Index-Generation"


def index() -> SearchIndex:
    return current_app.extensions["searchsvc.index"]


def params() -> dict[str, list[str]]:
    return request.args.to_dict(flat=False)


def answered(response: Response) -> Response:
    """The response, saying which index generation answered (answers are cached per
    generation: a client can tell a fresh answer from one of before a re-index)."""
    generation = index().answered_generation()
    if generation is not None:
        response.headers[GENERATION_HEADER] = str(generation)
    return response


@search_bp.get("/search")
def search() -> Response:
    req = request_from_params(params(), current_app.config["SEARCHSVC"].search)
    found = index().search_text(req, _compact)
    note("api", req, found.total, found.took_ms, found.partial)
    return answered(current_app.response_class(found.text + b"\n", mimetype="application/json"))


def _compact(data: Any) -> str:
    """JSON as `jsonify` spells it (the app's settings, compact)."""
    return current_app.json.dumps(data, separators=(",", ":"))  # type: ignore[no-any-return]


@search_bp.get("/suggest")
def suggest() -> Response:
    """Completions for a search box. `format=opensearch` answers in the OpenSearch
    suggestions format (`[query, [completions]]`) that browsers use."""
    req = suggest_from_params(params())
    found = index().suggest(req.q, req.limit)
    if req.format == "opensearch":
        response = jsonify([req.q, [s["text"] for s in found]])
        response.mimetype = "application/x-suggestions+json"
        return answered(response)
    return answered(jsonify({"query": req.q, "suggestions": found}))


@events_bp.get("/events/<path:doc_id>/related")
def related(doc_id: str) -> Response:
    limit, filters = related_from_params(params())
    hits = index().related(doc_id, filters, limit)
    if hits is None:
        return error_response(404, f"no document with id {doc_id!r}")
    return answered(jsonify({"id": doc_id, "limit": limit, "hits": [h.to_dict() for h in hits]}))


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
    """The OpenAPI document; its server is this one ("/": the Host header is not echoed)
    and its example id is the newest document's, so that generated clients reach one."""
    return jsonify(spec(current_app.config["SEARCHSVC"].search, _example_id()))


def _example_id() -> str:
    try:
        hits = index().search(SearchRequest(per_page=1)).hits
    except IndexUnavailable:
        hits = []
    return hits[0].id if hits else DOC_ID_EXAMPLE
