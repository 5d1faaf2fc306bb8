"""The OpenAPI 3 description of the HTTP API (served at /openapi.json).

tests/test_openapi.py keeps it true: every route is described, every described route
exists, and real responses match the schemas.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from dataclasses import fields, is_dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from searchsvc import __version__
from searchsvc.config import SearchConfig
from searchsvc.model import LABELS, SOURCE_ONLY, Document
from searchsvc.params import DATE_PATTERN, MAX_FILTER_VALUES, TEXT_PATTERN, Param
from searchsvc.query import (
    RELATED_PARAMS,
    SEARCH_PARAMS,
    SUGGEST_PARAMS,
    Hit,
    SearchResult,
)
from searchsvc.web.documents import openapi_paths as documents_paths
from searchsvc.web.documents import watch_schema
from searchsvc.web.operations import openapi_paths as operations_paths

# An id is the document's path relative to the content root; a generated client must pass
# it whole, slashes and all (percent-encoded or not).
DOC_ID_EXAMPLE = "news/2013/01/21/northern-mali-conflict-french-and-malian-troops-retake.md"
# Answers any request can get, whatever its path: a malformed request (400), another
# method (405), a head not sent within server.timeout (408), a body over
# server.max_body_bytes (413), a request line over server.max_url_bytes (414), too many or
# too large headers (431).
ANY_PATH_ERRORS = (400, 405, 408, 413, 414, 431)
# What a completion is: a suggested label (by its parameter's name) or a word.
SUGGEST_KINDS = [*(lb.param for lb in LABELS if lb.suggest), "word"]


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


def _param(p: Param, config: SearchConfig) -> dict[str, Any]:
    """A declared query parameter; an empty value (`page=`) means "not given", as for all."""
    limits = p.limits(config)
    if p.type == "int":
        schema: dict[str, Any] = {"type": "integer", "minimum": limits["lo"]}
        schema["maximum"] = limits["hi"]
    elif p.type == "choice":
        schema = _str(enum=list(p.choices))
    elif p.type == "date":
        schema = _str(pattern=DATE_PATTERN, example="2013-01")
    else:  # text as a client sends it: not too long, no control characters
        schema = _str(maxLength=limits["max_chars"], pattern=TEXT_PATTERN)
    out: dict[str, Any] = {
        "name": p.name,
        "in": "query",
        "description": p.describe(config),
        "required": False,
        "allowEmptyValue": True,
    }
    if p.repeat:
        out.update(
            schema={**_array(schema), "maxItems": MAX_FILTER_VALUES}, style="form", explode=True
        )
    else:
        out["schema"] = schema
    return out


def _params(declared: tuple[Param, ...], config: SearchConfig) -> list[dict[str, Any]]:
    return [_param(p, config) for p in declared]


def _schema(tp: Any) -> dict[str, Any]:
    """The JSON schema of a type of the answers' dataclasses."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        return _nullable(_schema(next(a for a in args if a is not type(None))))
    if origin is Literal:
        return _str(enum=list(args))
    if origin in (list, tuple):
        return _array(_schema(args[0]))
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(args[1])}
    if tp is Hit:
        return _ref("Hit")
    if is_dataclass(tp) or typing.is_typeddict(tp):
        return _answer(tp)
    simple = {str: _str(), int: {"type": "integer"}, float: {"type": "number"}}
    simple |= {bool: {"type": "boolean"}, dt.date: _str(format="date")}
    return simple[tp]


def _answer(cls: type, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """The schema of an answer (a dataclass or a TypedDict): its fields with their types
    and descriptions (`query.doc`); required unless left out when empty or `optional`."""
    hints = get_type_hints(cls)
    if not is_dataclass(cls):
        required = [n for n in hints if n in getattr(cls, "__required_keys__", hints)]
        return _obj({name: _schema(tp) for name, tp in hints.items()}, required)
    props, required = {}, []
    for f in fields(cls):
        schema = _schema(hints[f.name])
        meta = dict(f.metadata.get("schema", {}))
        if "keys" in meta:  # a dict with named keys: the facets
            schema = _obj({k: schema["additionalProperties"] for k in meta.pop("keys")})
        if f.metadata.get("doc"):
            meta["description"] = f.metadata["doc"]
        props[f.name] = {**schema, **meta}
        if not f.metadata.get("omit_empty") and f.name not in optional:
            required.append(f.name)
    return _obj(props, required)


def _hit() -> dict[str, Any]:
    schema = _answer(Hit)
    del schema["properties"]["context"]  # a related event's, below
    return schema


_RELATED_HIT = {
    "allOf": [
        _ref("Hit"),
        _obj({"context": _array(_str())}),
    ],
    "description": "a related event, with the tags it shares with the document (context)",
}
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
    paths = {
        **_search_paths(search, doc_id_example),
        **_status_paths(),
        **_admin_paths(),
        "/openapi.json": {
            "get": {
                "summary": "This description",
                "operationId": "openapi",
                "responses": _responses({"type": "object"}),
            }
        },
    }
    paths.update(operations_paths(_responses))  # searchsvc/web/operations.py
    paths.update(documents_paths())
    responses = _error_responses()
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
                "Hit": _hit(),
                "RelatedHit": _RELATED_HIT,
                "SearchResult": _answer(SearchResult),
                "Document": _answer(Document, SOURCE_ONLY),
                "Error": _ERROR,
            },
            "responses": responses,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _search_paths(search: SearchConfig, doc_id_example: str) -> dict[str, Any]:
    """/search, /suggest, /events/{doc_id} and its related events."""
    doc_id = {
        "name": "doc_id",
        "in": "path",
        "required": True,
        "description": "document id: its path relative to the content root, slashes "
        "included (e.g. news/2013/01/21/slug.md); as a path segment or percent-encoded",
        "schema": _str(minLength=1),
        "example": doc_id_example,
    }
    return {
        "/search": {
            "get": {
                "summary": "Ranked full-text search, with filters and facets",
                "operationId": "search",
                "parameters": _params(SEARCH_PARAMS, search),
                "responses": _responses(_ref("SearchResult"), 400, 503),
            }
        },
        "/suggest": {
            "get": {
                "summary": "Completions for a search box: tags, stories, places and words",
                "operationId": "suggest",
                "parameters": _params(SUGGEST_PARAMS, search),
                "responses": _with_opensearch(
                    _suggestions_schema(),
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
                "parameters": [doc_id, *_params(RELATED_PARAMS, search)],
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
    }


def _suggestions_schema() -> dict[str, Any]:
    """What /suggest answers."""
    return _obj(
        {
            "query": _str(),
            "suggestions": _array(
                _obj(
                    {
                        "text": _str(),
                        "kind": _str(enum=SUGGEST_KINDS),
                        "count": {"type": "integer", "description": "documents"},
                    }
                )
            ),
        }
    )


def _status_paths() -> dict[str, Any]:
    """/health and /stats."""
    return {
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
                    _stats_schema(),
                    503,
                ),
            }
        },
    }


def _stats_schema() -> dict[str, Any]:
    """What /stats answers (index/status.py)."""
    return _obj(
        {
            "documents": {"type": "integer"},
            "by_kind": _obj({"event": {"type": "integer"}, "source": {"type": "integer"}}),
            "generation": {"type": "integer"},
            "index_bytes": {
                "type": "integer",
                "description": "the index and the files beside it, but for the search analytics",
            },
            "analytics_bytes": {
                "type": "integer",
                "description": "the search analytics' SQLite file and journals",
            },
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
            "synonyms": _obj({"entries": {"type": "integer"}, "error": _nullable(_str())}),
            "pins": _obj(
                {
                    "queries": {"type": "integer"},
                    "unknown_ids": {"type": "array", "items": _str()},
                    "error": _nullable(_str()),
                }
            ),
        }
    )


def _admin_paths() -> dict[str, Any]:
    """/admin/reindex (the documents' admin paths are web/documents.py's)."""
    return {
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
    }


def _error_responses() -> dict[str, Any]:
    """The error answers, one a status, each the shape of `_ERROR`."""
    return {
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
