"""What a view tells the after-request hooks (metrics, analytics) about a search."""

from __future__ import annotations

from flask import g

from searchsvc.query import SearchRequest, SearchResult


def searched(source: str, req: SearchRequest, result: SearchResult) -> SearchResult:
    """Note the search this request answered (`source`: "api" or "page"); returns `result`."""
    g.searched = (source, req, result)
    return result
