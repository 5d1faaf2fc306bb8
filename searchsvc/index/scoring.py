"""BM25F as Whoosh computes it, over arrays, for queries made of terms.

Whoosh scores a query by walking its matchers one document at a time in Python, and
opening a matcher costs a lookup per term, field and segment: at archive size that was
most of a search. For a query of plain terms (the words of a search box, `tags:`, `kind:`)
combined by AND, OR and NOT, the scores are added up here as Whoosh's matchers add them
(an AND or OR sums its matching children, a NOT counts 1), each term scoring Whoosh's
BM25F:

    boost * idf * tf (K1 + 1) / (tf + K1 ((1 - B) + B fl / avgfl))

(tf: the term's weight in the document; fl: the document's field length as Whoosh stores
it; a field that is not scorable adds the term's weight). Here it is computed for all the
documents at once, from the posting arrays the tables cache. `tests/test_scoring.py`
checks that it ranks as Whoosh's own collector does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.scoring import BM25F

from searchsvc.index.matching import Matcher
from searchsvc.index.schema import DayRange
from searchsvc.index.tables import Tables


class Unsupported(Exception):
    """A node this module does not score (Whoosh's matchers do)."""


@dataclass
class Scored:
    """The documents a node matches (sorted, unique) and their scores: sparse, because a
    query's words are rare where the index is large."""

    ids: np.ndarray
    scores: np.ndarray

    @classmethod
    def of_mask(cls, mask: np.ndarray, score: float) -> Scored:
        ids = np.flatnonzero(mask)
        return cls(ids, np.full(len(ids), score))


_NOTHING = Scored(np.zeros(0, dtype=np.int64), np.zeros(0))


def query_scores(searcher: Any, tables: Tables, q: Any) -> Scored | None:
    """The documents the query matches and their scores, as Whoosh's matchers add them
    up; None when the query has a node other than terms, AND, OR, NOT, ANDNOT, ANDMAYBE
    phrases and date ranges, or the weighting is not BM25F."""
    if not isinstance(searcher.weighting, BM25F):
        return None
    try:
        return _scores(searcher, tables, q)
    except Unsupported:
        return None


def _scores(searcher: Any, tables: Tables, q: Any) -> Scored:
    """A node's matches and scores, following the matchers Whoosh makes of it."""
    if type(q) is wq.Term:
        return _term(searcher, tables, q)
    if isinstance(q, DayRange):
        return Scored.of_mask(tables.live & tables.days_between(q.start, q.end), 0.0)
    if isinstance(q, wq.Not):  # Whoosh's InverseMatcher scores 1
        mask = tables.live.copy()
        mask[_scores(searcher, tables, q.query).ids] = False
        return Scored.of_mask(mask, 1.0)
    if isinstance(q, wq.AndNot):
        a, b = _scores(searcher, tables, q.a), _scores(searcher, tables, q.b)
        keep = ~np.isin(a.ids, b.ids, assume_unique=True)
        return Scored(a.ids[keep], a.scores[keep])
    if isinstance(q, wq.AndMaybe):
        a, b = _scores(searcher, tables, q.a), _scores(searcher, tables, q.b)
        _, ia, ib = np.intersect1d(a.ids, b.ids, assume_unique=True, return_indices=True)
        scores = a.scores.copy()
        scores[ia] += b.scores[ib]
        return Scored(a.ids, scores)
    if type(q) is wq.And:
        parts = [_scores(searcher, tables, c) for c in q.children()]
        if not parts:
            return _NOTHING
        out = parts[0]
        for p in parts[1:]:
            ids, ia, ib = np.intersect1d(out.ids, p.ids, assume_unique=True, return_indices=True)
            out = Scored(ids, out.scores[ia] + p.scores[ib])
        return out
    if type(q) is wq.Or:
        parts = [_scores(searcher, tables, c) for c in q.children()]
        if len(parts) <= 1:
            return parts[0] if parts else _NOTHING
        ids, where = np.unique(np.concatenate([p.ids for p in parts]), return_inverse=True)
        weights = np.concatenate([p.scores for p in parts])
        sums = np.bincount(where, weights=weights, minlength=len(ids))
        return Scored(ids, sums.astype(np.float64, copy=False))  # int64 when empty
    if isinstance(q, wq.Phrase) and q.slop == 1:
        return _phrase(searcher, tables, q)
    if q is wq.NullQuery:
        return _NOTHING
    raise Unsupported(type(q).__name__)


def _phrase(searcher: Any, tables: Tables, q: Any) -> Scored:
    """Whoosh scores a phrase as the AND of its words (times the phrase's boost), at the
    documents where the words stand together."""
    ids = np.flatnonzero(Matcher(tables).query(searcher, q))
    scores = np.zeros(len(ids))
    for word in q.words:
        part = _term(searcher, tables, wq.Term(q.fieldname, word))
        scores += part.scores[np.searchsorted(part.ids, ids)]
    return Scored(ids, scores * q.boost if q.boost != 1.0 else scores)


def _term(searcher: Any, tables: Tables, leaf: Any) -> Scored:
    field = leaf.fieldname
    text = leaf.text.decode("utf-8") if isinstance(leaf.text, bytes) else leaf.text
    if field not in searcher.schema:
        return _NOTHING
    ids, weights = tables.postings(searcher, field, text)
    if not len(ids):
        return _NOTHING
    tf = weights.astype(np.float64)
    if searcher.schema[field].scorable:
        if field not in tables.lengths:
            raise Unsupported(field)
        weighting = searcher.weighting
        b = weighting._field_B.get(field, weighting.B)
        k1 = weighting.K1
        idf = searcher.idf(field, text)
        avgfl = searcher.avg_field_length(field) or 1
        fl = tables.lengths[field][ids]
        # The expression as whoosh.scoring.bm25 writes it, for the same rounding.
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
