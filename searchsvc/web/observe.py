"""What a view tells the after-request hooks (metrics, analytics) about a search."""

from __future__ import annotations

from typing import NamedTuple

from flask import g

from searchsvc.query import SearchRequest, SearchResult


class Searched(NamedTuple):
    source: str  # "api" or "page"
    req: SearchRequest
    total: int
    took_ms: float
    partial: bool


def searched(source: str, req: SearchRequest, result: SearchResult) -> SearchResult:
    """Note the search this request answered (`source`: "api" or "page"); returns `result`."""
    g.searched = Searched(source, req, result.total, result.took_ms, result.partial)
    return result
