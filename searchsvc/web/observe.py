"""What a view tells the after-request hooks (metrics, analytics) about a search."""

from __future__ import annotations

from typing import Any, NamedTuple, TypeVar

from flask import g

from searchsvc.query import SearchRequest, SearchResult

R = TypeVar("R", SearchResult, dict[str, Any])


class Searched(NamedTuple):
    source: str  # "api" or "page"
    req: SearchRequest
    total: int
    took_ms: float
    partial: bool


def searched(source: str, req: SearchRequest, result: R) -> R:
    """Note the search this request answered, as a result or its JSON form (`source`:
    "api" or "page"); returns `result`."""
    if isinstance(result, SearchResult):
        total, took_ms, partial = result.total, result.took_ms, result.partial
    else:
        total, took_ms, partial = result["total"], result["took_ms"], bool(result.get("partial"))
    g.searched = Searched(source, req, total, took_ms, partial)
    return result
