"""The private corners of Whoosh 2.7.4 that searchsvc reads, gathered in one place.

Whoosh is frozen, so they will not move; but a change of Whoosh version (a maintained fork)
should be a change of this file and a red test (tests/test_whoosh_compat.py), not a hunt.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound

_EMPTY = np.zeros(0, dtype=np.int32)


def posting_ids(segreader: Any, field: str, text: str | bytes) -> np.ndarray:
    """The document numbers of a term's postings in one segment, deleted documents
    included (callers mask them), as an array. Whoosh's `all_ids()` steps through a
    posting list one document at a time in Python (a microsecond each); this reads each
    block's ids at once."""
    try:
        m = segreader.postings(field, text)
    except TermNotFound:
        return _EMPTY
    if isinstance(m, FilterMatcher):  # the deletions filter: masked by the caller
        m = m.child
    if not isinstance(m, W3LeafMatcher):
        return np.fromiter(m.all_ids(), dtype=np.int32)
    blocks = []
    while m.is_active():
        if m._ids is None:
            m._read_ids()
        blocks.append(np.asarray(m._ids[m._i :], dtype=np.int32))
        m._next_block()
    if not blocks:
        return _EMPTY
    return np.concatenate(blocks) if len(blocks) > 1 else blocks[0]


def ids_in_order(segreader: Any, field: str) -> tuple[list[str], np.ndarray]:
    """A unique field's values in sorted order, and the document holding each (a unique
    term's posting list starts and ends at its one document, which the term's info
    records: no posting list is read)."""
    values, docnums = [], []
    for btext, info in segreader.iter_field(field):
        value = btext.decode("utf-8")
        if info.doc_frequency() == 1:
            values.append(value)
            docnums.append(info.min_id())
        else:  # never written so by an index run; read the postings to be sure
            for d in posting_ids(segreader, field, btext).tolist():
                values.append(value)
                docnums.append(d)
    return values, np.asarray(docnums, dtype=np.int32)


def searcher_index(searcher: Any) -> Any:
    """The index a searcher reads (for checksums of its segments)."""
    return searcher._ix


def index_segments(ix: Any) -> list[Any]:
    return ix._segments()


def prefix_terms(node: Any, reader: Any) -> Any:
    """The index terms a Prefix or Wildcard query expands to, lazily."""
    return node._btexts(reader)
