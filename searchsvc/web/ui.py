"""The search page: server-rendered, works without JavaScript (a GET form), with a little
script for completions. Like the API, it only translates HTTP to the search layer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, render_template, request, url_for
from markupsafe import Markup

from searchsvc.index import SearchIndex
from searchsvc.query import (
    FILTER_PARAMS,
    REPEATABLE_PARAMS,
    Filters,
    QueryError,
    request_from_params,
)

ui_bp = Blueprint(
    "ui", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
)

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _index() -> SearchIndex:
    return current_app.extensions["searchsvc.index"]


@ui_bp.after_request
def _page_headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = PAGE_CSP
        response.headers["Cache-Control"] = "no-cache"
    return response


def _url(args: dict[str, list[str]], **changes: Any) -> str:
    """The search page URL with these parameters, some changed (None removes one)."""
    merged = {k: list(v) for k, v in args.items()}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif key in REPEATABLE_PARAMS:
            merged.setdefault(key, [])
            if value not in merged[key]:
                merged[key].append(value)
        else:
            merged[key] = [str(value)]
    pairs = [(k, v) for k, vs in merged.items() for v in vs if v != ""]
    return url_for("ui.page") + ("?" + urlencode(pairs) if pairs else "")


@ui_bp.get("/")
def page() -> tuple[str, int]:
    args = request.args.to_dict(flat=False)
    error, result, status = None, None, 200
    try:
        req = request_from_params(args, current_app.config["SEARCHSVC"].search)
        result = _index().search(replace(req, histogram=req.histogram or "auto"))
    except QueryError as exc:
        error, status = exc.message, 400
    base = {k: v for k, v in args.items() if k != "page"}
    active = [(k, v) for k in FILTER_PARAMS for v in args.get(k, [])]
    return render_template(
        "search.html",
        q=(args.get("q") or [""])[0],
        result=result,
        error=error,
        active=active,
        sort=(args.get("sort") or ["relevance"])[0],
        url=lambda **kw: _url(base, **kw),
        remove=lambda key, value: _remove(base, key, value),
        mark=lambda html: Markup(html),  # snippets are escaped by the search layer
    ), status


def _remove(args: dict[str, list[str]], key: str, value: str) -> str:
    kept = {k: [v for v in vs if not (k == key and v == value)] for k, vs in args.items()}
    return _url(kept)


@ui_bp.get("/doc/<path:doc_id>")
def document(doc_id: str) -> tuple[str, int]:
    doc = _index().get(doc_id)
    if doc is None:
        return render_template("missing.html", doc_id=doc_id), 404
    related = _index().related(doc_id, Filters(), 10) or []
    return render_template("document.html", doc=doc, related=related), 200


@ui_bp.get("/opensearch.xml")
def opensearch() -> Response:
    base = request.host_url.rstrip("/")
    xml = render_template("opensearch.xml", base=base)
    return Response(xml, mimetype="application/opensearchdescription+xml")
