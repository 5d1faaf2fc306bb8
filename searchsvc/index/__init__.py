"""The index layer: the only package that imports Whoosh.

- `schema`: what the index holds and how a Document maps onto it;
- `writing`: index runs (incremental, parallel, locked); `pool`, its worker processes;
  `links`, which source texts belong to which event; `commit`, opening and committing;
  `report`, what a run answers (its report, or its errors);
- `searching`: `SearchIndex`, the facade the web app and the CLI use: hits, snippets,
  facets, suggest, related, health, stats;
- `live`: the live index (opening, per-thread searchers, switching generations);
- `compile`: compiling and checking queries;
- `ranking`: running them (match sets, collectors, deadline, re-ranking);
- `related`: "more like this" for an event or a source text;
- `manifest`, `state`: the files kept beside the index.

The names below are imported when first used (PEP 562): `searchsvc index`, run every few
minutes, needs none of the searching side (numpy, the tables), which took half of its
import time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from searchsvc.index.report import IndexBusy, IndexRunError, IndexWriteError, Report
    from searchsvc.index.searching import IndexUnavailable, SearchIndex
    from searchsvc.index.writing import index_busy, index_exists, index_problem, run_index

_WHERE = {
    "IndexUnavailable": "searching",
    "SearchIndex": "searching",
    "IndexBusy": "report",
    "IndexRunError": "report",
    "IndexWriteError": "report",
    "Report": "report",
    "index_busy": "writing",
    "index_exists": "writing",
    "index_problem": "writing",
    "run_index": "writing",
}

__all__ = [
    "IndexBusy",
    "IndexRunError",
    "IndexUnavailable",
    "IndexWriteError",
    "Report",
    "SearchIndex",
    "index_busy",
    "index_exists",
    "index_problem",
    "run_index",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"searchsvc.index.{module}"), name)
    globals()[name] = value
    return value
