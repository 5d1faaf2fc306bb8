"""The OpenAPI 3 description of the HTTP API (served at /openapi.json).

tests/test_openapi.py keeps it true: every route is described, every described route
exists, and real responses match the schemas.
"""

from __future__ import annotations

from typing import Any

from searchsvc import __version__
from searchsvc.config import SearchConfig
from searchsvc.query import (
    DATE_PATTERN,
    MAX_FILTER_CHARS,
    MAX_FILTER_VALUES,
    MAX_RELATED,
    MAX_SUGGEST,
    MAX_SUGGEST_CHARS,
    SORTS,
    SUGGEST_FORMATS,
    TEXT_PATTERN,
)
from searchsvc.web.documents import openapi_paths as documents_paths
from searchsvc.web.documents import watch_schema

# An id is the document's path relative to the content root; a generated client must pass
# it whole, slashes and all (percent-encoded or not).
DOC_ID_EXAMPLE = "news/2013/01/21/northern-mali-conflict-french-and-malian-troops-retake.md"
# Answers any request can get, whatever its path: a malformed request (400), another
# method (405), a head not sent within server.timeout (408), a body over
# server.max_body_bytes (413), a request line over server.max_url_bytes (414), too many or
# too large headers (431).
ANY_PATH_ERRORS = (400, 405, 408, 413, 414, 431)


def _str(desc: str = "", **kw: Any) -> dict[str, Any]:
    return {"type": "string", **({"description": desc} if desc else {}), **kw}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": required if required is not None else list(props),
    }


def _param(name: str, desc: str, schema: dict[str, Any], repeat: bool = False) -> dict[str, Any]:
    """A query parameter; an empty value (`page=`) means "not given", as for all of them."""
    p: dict[str, Any] = {
        "name": name,
        "in": "query",
        "description": desc,
        "required": False,
        "allowEmptyValue": True,
    }
    if repeat:
        p["schema"] = {**_array(schema), "maxItems": MAX_FILTER_VALUES}
        p["style"] = "form"
        p["explode"] = True
    else:
        p["schema"] = schema
    return p


def _text(max_length: int, **kw: Any) -> dict[str, Any]:
    """Text as a client sends it: at most max_length characters, no control characters."""
    return _str(maxLength=max_length, pattern=TEXT_PATTERN, **kw)


_DATE_PARAM = _str(pattern=DATE_PATTERN, example="2013-01")
_DATES = "YYYY, YYYY-MM or YYYY-MM-DD, years 0001-9999, a real date"
_LABEL = _text(MAX_FILTER_CHARS)
FILTERS = [
    _param(
        "tag",
        f"only documents with this tag (repeatable, at most {MAX_FILTER_VALUES}: all must "
        f"match; at most {MAX_FILTER_CHARS} characters each)",
        _LABEL,
        True,
    ),
    _param("location", "only documents with this location (repeatable)", _LABEL, True),
    _param("kind", "event or source (repeatable)", _str(enum=["event", "source"]), True),
    _param("story", "only documents of this story (repeatable)", _LABEL, True),
    _param("from", f"from this date, inclusive: {_DATES}", _DATE_PARAM),
    _param("to", f"up to this date, inclusive: {_DATES}", _DATE_PARAM),
]

_HIT = _obj(
    {
        "id": _str("the file's path relative to the content root"),
        "kind": _str(enum=["event", "source"]),
        "title": _str(),
        "date": _nullable(_str(format="date")),
        "story": _nullable(_str()),
        "tags": _array(_str()),
        "locations": _array(_str()),
        "snippet": _str("HTML-escaped extract, matches wrapped in <mark>"),
        "score": _nullable({"type": "number"}),
    }
)
_RELATED_HIT = {
    "allOf": [
        _ref("Hit"),
        _obj({"context": _array(_str())}),
    ],
    "description": "a related event, with the tags it shares with the document (context)",
}
_FACET = _array(_obj({"value": _str(), "count": {"type": "integer"}}))
_SEARCH = _obj(
    {
        "query": _str(),
        "total": {
            "type": "integer",
            "description": "all matches, not just this page; exact, also when partial",
        },
        "total_relation": _str(
            "how total relates to the number of matches: eq (exact; counts come from the "
            "whole match set, which the time limit never cuts) or gte (a lower bound)",
            enum=["eq", "gte"],
        ),
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "took_ms": {"type": "number"},
        "hits": _array(_ref("Hit")),
        "facets": _obj({"tags": _FACET, "locations": _FACET, "year": _FACET, "kind": _FACET}),
        "did_you_mean": _str("a corrected query, when this one finds little"),
        "partial": {
            "type": "boolean",
            "description": "the time limit cut the ranking short: the page holds the best "
            "hits found in time (total and facets stay exact)",
        },
    },
    required=["query", "total", "total_relation", "page", "per_page", "took_ms", "hits", "facets"],
)
_DOCUMENT = _obj(
    {
        "id": _str(),
        "kind": _str(enum=["event", "source"]),
        "date": _nullable(_str(format="date")),
        "title": _str(),
        "story": _nullable(_str()),
        "summary": _str(),
        "body": _str(),
        "category": _nullable(_str()),
        "tags": _array(_str()),
        "locations": _array(_str()),
        "sources": _array(_obj({"name": _str(), "url": _nullable(_str())})),
        "related": _array(_obj({"id": _str(), "title": _str(), "context": _array(_str())})),
        "url": _nullable(_str("source texts: where the article was published")),
        "publisher": _nullable(_str()),
        "event": _nullable(_str("source texts: the event they report on")),
    },
    required=[
        "id",
        "kind",
        "date",
        "title",
        "story",
        "summary",
        "body",
        "category",
        "tags",
        "locations",
        "sources",
        "related",
    ],
)
_ERROR = _obj(
    {
        "error": _obj(
            {"code": _str(), "message": _str(), "param": _str("the parameter at fault")},
            required=["code", "message"],
        )
    }
)


def _responses(ok: dict[str, Any], *errors: int, ok_desc: str = "OK") -> dict[str, Any]:
    out: dict[str, Any] = {
        "200": {"description": ok_desc, "content": {"application/json": {"schema": ok}}}
    }
    for status in sorted({*errors, *ANY_PATH_ERRORS}):
        out[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    return out


def _with_opensearch(ok: dict[str, Any], *errors: int) -> dict[str, Any]:
    """/suggest's responses: JSON, or with format=opensearch the OpenSearch suggestions
    format, `[query, [completions]]` as application/x-suggestions+json."""
    out = _responses(ok, *errors)
    out["200"]["content"]["application/x-suggestions+json"] = {
        "schema": {
            "type": "array",
            "description": "[query, [completions]] (format=opensearch)",
            "minItems": 2,
            "maxItems": 2,
            "items": {"oneOf": [_str(), _array(_str())]},
        }
    }
    return out


def spec(
    search: SearchConfig | None = None, doc_id_example: str = DOC_ID_EXAMPLE
) -> dict[str, Any]:
    """The OpenAPI document, with the limits this service enforces. `doc_id_example` is an
    id a generated client can reach (the server passes one from its index)."""
    search = search or SearchConfig()
    doc_id = {
        "name": "doc_id",
        "in": "path",
        "required": True,
        "description": "document id: its path relative to the content root, slashes "
        "included (e.g. news/2013/01/21/slug.md); as a path segment or percent-encoded",
        "schema": _str(minLength=1),
        "example": doc_id_example,
    }
    paths: dict[str, Any] = {
        "/search": {
            "get": {
                "summary": "Ranked full-text search, with filters and facets",
                "operationId": "search",
                "parameters": [
                    _param(
                        "q",
                        'query in Whoosh syntax: words, "phrases", AND/OR/NOT, '
                        "field:value, prefix*, fuzzy~; empty to browse newest first",
                        _text(search.max_query_chars),
                    ),
                    *FILTERS,
                    _param(
                        "sort",
                        "relevance (default), date (oldest first) or -date (newest first); "
                        "undated documents last in both date orders, ties by id",
                        _str(enum=list(SORTS)),
                    ),
                    _param(
                        "page",
                        "page number, from 1",
                        {"type": "integer", "minimum": 1, "maximum": search.max_page},
                    ),
                    _param(
                        "per_page",
                        f"hits per page (default {search.per_page}, at most {search.max_per_page})",
                        {"type": "integer", "minimum": 1, "maximum": search.max_per_page},
                    ),
                ],
                "responses": _responses(_ref("SearchResult"), 400, 503),
            }
        },
        "/suggest": {
            "get": {
                "summary": "Completions for a search box: tags, stories, places and words",
                "operationId": "suggest",
                "parameters": [
                    _param("q", "what the user has typed", _text(MAX_SUGGEST_CHARS)),
                    _param(
                        "limit",
                        f"how many (default 8, at most {MAX_SUGGEST})",
                        {"type": "integer", "minimum": 1, "maximum": MAX_SUGGEST},
                    ),
                    _param(
                        "format",
                        "json (default) or opensearch: [query, [texts]] as "
                        "application/x-suggestions+json, the browsers' suggestion format",
                        _str(enum=list(SUGGEST_FORMATS)),
                    ),
                ],
                "responses": _with_opensearch(
                    _obj(
                        {
                            "query": _str(),
                            "suggestions": _array(
                                _obj(
                                    {
                                        "text": _str(),
                                        "kind": _str(enum=["tag", "story", "location", "word"]),
                                        "count": {"type": "integer", "description": "documents"},
                                    }
                                )
                            ),
                        }
                    ),
                    400,
                    503,
                ),
            }
        },
        "/events/{doc_id}": {
            "get": {
                "summary": "One stored document (an event page or a source text)",
                "operationId": "getDocument",
                "parameters": [doc_id],
                "responses": _responses(_ref("Document"), 404, 503),
            }
        },
        "/events/{doc_id}/related": {
            "get": {
                "summary": "The events most related to a document (more like this)",
                "operationId": "related",
                "parameters": [
                    doc_id,
                    _param(
                        "limit",
                        f"how many (default 10, at most {MAX_RELATED})",
                        {"type": "integer", "minimum": 1, "maximum": MAX_RELATED},
                    ),
                    *FILTERS,
                ],
                "responses": _responses(
                    _obj(
                        {
                            "id": _str(),
                            "limit": {"type": "integer"},
                            "hits": _array(_ref("RelatedHit")),
                        }
                    ),
                    400,
                    404,
                    503,
                ),
            }
        },
        "/health": {
            "get": {
                "summary": "Whether there is a usable index",
                "operationId": "health",
                "responses": _responses(
                    _obj(
                        {
                            "status": _str(enum=["ok"]),
                            "documents": {"type": "integer"},
                            "generation": {"type": "integer"},
                        }
                    ),
                    503,
                ),
            }
        },
        "/stats": {
            "get": {
                "summary": "Index counts, size, and the index runs",
                "operationId": "stats",
                "responses": _responses(
                    _obj(
                        {
                            "documents": {"type": "integer"},
                            "by_kind": _obj(
                                {"event": {"type": "integer"}, "source": {"type": "integer"}}
                            ),
                            "generation": {"type": "integer"},
                            "index_bytes": {"type": "integer"},
                            "runs": {"type": "integer", "description": "index runs so far"},
                            "last_run": _nullable(
                                _obj(
                                    {
                                        "start": _str(format="date-time"),
                                        "end": _str(format="date-time"),
                                        "report": _nullable({"type": "object"}),
                                        "error": _nullable(_str()),
                                    }
                                )
                            ),
                            "running": _nullable({"type": "object"}),
                            "next_run": _nullable(_str(format="date-time")),
                            "watch": watch_schema(),
                        }
                    ),
                    503,
                ),
            }
        },
        "/admin/reindex": {
            "post": {
                "summary": "Run the index job now (off unless an admin token is configured). "
                "Requests are coalesced across the web workers: at most one run at work and "
                "one waiting for it; 409 when two index processes are at it already",
                "operationId": "reindex",
                "security": [{"bearer": []}],
                "responses": {
                    "202": {
                        "description": "started or joined a run; follow it in /stats",
                        "content": {
                            "application/json": {
                                "schema": _obj(
                                    {
                                        "status": _str(enum=["started"]),
                                        "run": {"type": "integer"},
                                        "pid": {"type": "integer"},
                                        "joined": {
                                            "type": "boolean",
                                            "description": "an earlier request started "
                                            "this run, whose scan has not begun",
                                        },
                                        "queued": {
                                            "type": "boolean",
                                            "description": "the run waits for one under way",
                                        },
                                        "stats": _str(),
                                    },
                                    required=["status", "run", "pid", "joined", "queued"],
                                )
                            }
                        },
                    },
                    **{
                        str(status): {"$ref": f"#/components/responses/E{status}"}
                        for status in sorted({401, 403, 404, 409, *ANY_PATH_ERRORS})
                    },
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This description",
                "operationId": "openapi",
                "responses": _responses({"type": "object"}),
            }
        },
    }
    paths.update(documents_paths())
    responses = {
        f"E{status}": {
            "description": desc,
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        for status, desc in {
            400: "a parameter is wrong; the message says which and why",
            401: "no token given",
            403: "wrong token",
            404: "no such document",
            409: "an index run is already under way",
            405: "this method is not allowed on this path (the Allow header lists those that are)",
            408: "the request line and headers were not received within server.timeout",
            413: "request body too large (server.max_body_bytes)",
            414: "request line too long (server.max_url_bytes)",
            431: "too many or too large request headers",
            503: "no usable index; the message says why",
        }.items()
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "searchsvc",
            "version": __version__,
            "description": "Full-text search and related events for a news site. Every "
            'error has the shape {"error": {"code", "message"}}; 400, 405, 408, 413, '
            "414 and 431 are possible on any path. An empty parameter (`page=`) means "
            "it is not given.",
        },
        "servers": [{"url": "/", "description": "this server"}],
        "paths": paths,
        "components": {
            "schemas": {
                "Hit": _HIT,
                "RelatedHit": _RELATED_HIT,
                "SearchResult": _SEARCH,
                "Document": _DOCUMENT,
                "Error": _ERROR,
            },
            "responses": responses,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
