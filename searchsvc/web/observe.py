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


def note(source: str, req: SearchRequest, total: int, took_ms: float, partial: bool) -> None:
    """Note the search this request answered (`source`: "api" or "page")."""
    g.searched = Searched(source, req, total, took_ms, partial)


def searched(source: str, req: SearchRequest, result: SearchResult) -> SearchResult:
    """`note` the search `result` answers; returns it."""
    note(source, req, result.total, result.took_ms, result.partial)
    return result
