"""BM25F as Whoosh computes it, over arrays: the scores of a term's documents, and the
best of a scored set.

Whoosh scores a query by walking its matchers one document at a time in Python, and
opening a matcher costs a lookup per term, field and segment: at archive size that was
most of a search. Here a term scores all its documents at once, from the posting arrays
the tables cache, with Whoosh's BM25F:

    boost * idf * tf (K1 + 1) / (tf + K1 ((1 - B) + B fl / avgfl))

(tf: the term's weight in the document; fl: the document's field length as Whoosh stores
it; a field that is not scorable adds the term's weight). matching.py adds them up over a
query as Whoosh's matchers do; `tests/test_scoring.py` checks the sums against Whoosh's own
collector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.scoring import BM25F

from searchsvc.index.tables import Tables


@dataclass
class Scored:
    """The documents a node matches (sorted, unique) and their scores: sparse, because a
    query's words are rare where the index is large. `exact`: the scores are those
    Whoosh's matchers give (else the node holds a prefix, wildcard or fuzzy term, whose
    scores only Whoosh's matchers make: its scores here are 0, its documents exact)."""

    ids: np.ndarray
    scores: np.ndarray
    exact: bool = True

    @classmethod
    def of_ids(cls, ids: np.ndarray, score: float = 0.0, exact: bool = True) -> Scored:
        ids = np.asarray(ids, dtype=np.int64)
        return cls(ids, np.full(len(ids), score), exact)

    def mask(self, size: int) -> np.ndarray:
        out = np.zeros(size, dtype=bool)
        out[self.ids] = True
        return out


NOTHING = Scored(np.zeros(0, dtype=np.int64), np.zeros(0))


def text_of(text: str | bytes) -> str:
    return text.decode("utf-8") if isinstance(text, bytes) else text


def term(searcher: Any, tables: Tables, leaf: Any) -> Scored:
    """A term's documents, scored with Whoosh's BM25F (or the posting's weight, in a field
    that is not scored): the expression of whoosh.scoring.bm25, for the same rounding."""
    field = leaf.fieldname
    text = text_of(leaf.text)
    if field not in searcher.schema:
        return NOTHING
    ids, weights = tables.postings(searcher, field, text)
    if not len(ids):
        return NOTHING
    tf = weights.astype(np.float64)
    if searcher.schema[field].scorable:
        weighting = searcher.weighting
        if field not in tables.lengths or not isinstance(weighting, BM25F):
            return Scored.of_ids(ids, exact=False)
        b = weighting._field_B.get(field, weighting.B)
        k1 = weighting.K1
        idf = searcher.idf(field, text)
        avgfl = searcher.avg_field_length(field) or 1
        fl = tables.lengths[field][ids]
        s = idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl)))
    else:
        s = tf  # Whoosh's WeightScorer: the posting's weight
    return Scored(ids.astype(np.int64), s * leaf.boost if leaf.boost != 1.0 else s)


def top(scored: Scored, candidates: np.ndarray, limit: int) -> list[tuple[float, int]]:
    """The best `limit` of the scored documents that are candidates, as (score, docnum):
    scores rounded as the collector rounds them, among equals the lower number first."""
    keep = candidates[scored.ids]
    docs = scored.ids[keep]
    rounded = np.round(scored.scores[keep], 6)
    if len(docs) > limit:  # only what can reach the page is sorted
        floor = np.partition(rounded, len(docs) - limit)[len(docs) - limit]
        keep = rounded >= floor
        docs, rounded = docs[keep], rounded[keep]
    order = np.lexsort((docs, -rounded))[:limit]
    return [(float(rounded[k]), int(docs[k])) for k in order]
