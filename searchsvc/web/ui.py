"""The search page: server-rendered, works without JavaScript (a GET form), with a little
script for completions. Like the API, it only translates HTTP to the search layer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from markupsafe import Markup

from searchsvc.index import SearchIndex
from searchsvc.query import (
    FILTER_PARAMS,
    REPEATABLE_PARAMS,
    Filters,
    QueryError,
    request_from_params,
)
from searchsvc.web import page_state
from searchsvc.web.assets import STATIC, asset_url, cache_headers
from searchsvc.web.observe import searched

ui_bp = Blueprint(
    "ui", __name__, template_folder="templates", static_folder="static", static_url_path="/static"
)

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _index() -> SearchIndex:
    return current_app.extensions["searchsvc.index"]


@ui_bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"asset_url": asset_url, **page_state.template_helpers()}


@ui_bp.after_request
def _page_headers(response: Response) -> Response:
    if request.endpoint in ("ui.static", "ui.favicon"):
        return cache_headers(response)
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
        result = searched(
            "page", req, _index().search(replace(req, histogram=req.histogram or "auto"))
        )
    except QueryError as exc:
        error, status = exc.message, 400
    base = {k: v for k, v in args.items() if k != "page"}
    q = (args.get("q") or [""])[0]
    active = page_state.chips({k: args.get(k, []) for k in FILTER_PARAMS})
    page_number = result.page if result else 1
    return render_template(
        "search.html",
        q=q,
        result=result,
        error=error,
        active=active,
        heading=page_state.heading(q, active),
        page_title=page_state.title(q, active, page_number),
        page_description=page_state.description(q, active, result.total if result else None),
        sorting=page_state.sort_options(q, (args.get("sort") or ["relevance"])[0]),
        url=lambda **kw: _url(base, **kw),
        remove=lambda chip: _remove(base, chip.remove),
        is_active=lambda key, value: page_state.is_active(args, key, value),
        facet_url=lambda facet, param, value, on: _facet_url(base, facet, param, value, on),
        facet_list=page_state.FACET_LIST,
        mark=lambda html: Markup(html),  # snippets are escaped by the search layer
    ), status


def _remove(args: dict[str, list[str]], pairs: tuple[tuple[str, str], ...]) -> str:
    """The page without these filters (labels compare without case, as the index's)."""
    gone = {(k, v.lower()) for k, v in pairs}
    kept = {k: [v for v in vs if (k, v.lower()) not in gone] for k, vs in args.items()}
    return _url(kept)


def _facet_url(
    args: dict[str, list[str]], facet: str, param: str | None, value: str, on: bool
) -> str:
    """A facet value's link: adds its filter, or removes it when it is active."""
    if facet == "year":
        if on:
            return _remove(args, (("from", value), ("to", value)))
        return _url(args, **{"from": value, "to": value})
    assert param is not None
    return _remove(args, ((param, value),)) if on else _url(args, **{param: value})


@ui_bp.get("/doc/<path:doc_id>")
def document(doc_id: str) -> tuple[str, int]:
    doc = _index().get(doc_id)
    if doc is None:
        return render_template("missing.html", doc_id=doc_id), 404
    related = _index().related(doc_id, Filters(), 10) or []
    description = page_state.summary_text(
        doc.get("summary") or doc.get("body") or doc.get("title") or ""
    )
    return render_template("document.html", doc=doc, related=related, description=description), 200


@ui_bp.get("/favicon.ico")
def favicon() -> Response:
    """The icon, where browsers and crawlers look for it without reading the page."""
    return send_from_directory(STATIC, "favicon.svg", mimetype="image/svg+xml")


@ui_bp.get("/opensearch.xml")
def opensearch() -> Response:
    base = request.host_url.rstrip("/")
    xml = render_template("opensearch.xml", base=base)
    return Response(xml, mimetype="application/opensearchdescription+xml")
