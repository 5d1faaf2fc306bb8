"""The index layer: the only package that imports Whoosh.

- `schema`: what the index holds and how a Document maps onto it;
- `writing`: index runs (incremental, parallel, locked);
- `searching`: queries, filters, facets, snippets;
- `related`: "more like this" for an event or a source text;
- `manifest`, `state`: the files kept beside the index.
"""

from searchsvc.index.searching import IndexUnavailable, SearchIndex
from searchsvc.index.writing import (
    IndexBusy,
    IndexRunError,
    IndexWriteError,
    Report,
    index_busy,
    index_exists,
    index_problem,
    run_index,
)

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
