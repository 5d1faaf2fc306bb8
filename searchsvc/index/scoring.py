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

from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.scoring import BM25F

from searchsvc.index.schema import DayRange
from searchsvc.index.tables import Tables


class Unsupported(Exception):
    """A node this module does not score (Whoosh's matchers do)."""


def query_scores(searcher: Any, tables: Tables, q: Any) -> np.ndarray | None:
    """Each document's score for the query, as Whoosh's matchers add it up (0 where it
    does not match); None when the query has a node other than terms, AND, OR, NOT, date
    ranges and Every, or the weighting is not BM25F."""
    if not isinstance(searcher.weighting, BM25F):
        return None
    try:
        return _scores(searcher, tables, q)[0]
    except Unsupported:
        return None


def _scores(searcher: Any, tables: Tables, q: Any) -> tuple[np.ndarray, np.ndarray]:
    """(scores, mask of matches) of a node, following the matchers Whoosh makes of it."""
    n = tables.size
    if type(q) is wq.Term:
        return _term(searcher, tables, q)
    if isinstance(q, DayRange):
        return np.zeros(n), tables.live & tables.days_between(q.start, q.end)
    if isinstance(q, wq.Not):  # Whoosh's InverseMatcher scores 1
        mask = tables.live & ~_scores(searcher, tables, q.query)[1]
        return mask.astype(np.float64), mask
    if isinstance(q, wq.AndNot):
        (a, am), (_, bm) = _scores(searcher, tables, q.a), _scores(searcher, tables, q.b)
        mask = am & ~bm
        return a * mask, mask
    if isinstance(q, wq.AndMaybe):
        (a, am), (b, bm) = _scores(searcher, tables, q.a), _scores(searcher, tables, q.b)
        return a + b * (am & bm), am
    if type(q) in (wq.And, wq.Or):
        parts = [_scores(searcher, tables, c) for c in q.children()]
        if not parts:
            return np.zeros(n), np.zeros(n, dtype=bool)
        masks = [m for _, m in parts]
        op = np.logical_and if type(q) is wq.And else np.logical_or
        mask = op.reduce(masks) if len(masks) > 1 else masks[0]
        total = np.sum([s for s, _ in parts], axis=0) if len(parts) > 1 else parts[0][0]
        return total * mask, mask
    if q is wq.NullQuery:
        return np.zeros(n), np.zeros(n, dtype=bool)
    raise Unsupported(type(q).__name__)


def _term(searcher: Any, tables: Tables, leaf: Any) -> tuple[np.ndarray, np.ndarray]:
    scores = np.zeros(tables.size)
    mask = np.zeros(tables.size, dtype=bool)
    field = leaf.fieldname
    text = leaf.text.decode("utf-8") if isinstance(leaf.text, bytes) else leaf.text
    if field not in searcher.schema:
        return scores, mask
    ids, weights = tables.postings(searcher, field, text)
    if not len(ids):
        return scores, mask
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
    scores[ids] = s * leaf.boost if leaf.boost != 1.0 else s
    mask[ids] = True
    return scores, mask


def top(scores: np.ndarray, candidates: np.ndarray, limit: int) -> list[tuple[float, int]]:
    """The best `limit` candidates as (score, docnum): scores rounded as the collector
    rounds them, and among equal scores the lower document number first."""
    docs = np.flatnonzero(candidates)
    rounded = np.round(scores[docs], 6)
    if len(docs) > limit:  # only what can reach the page is sorted
        floor = np.partition(rounded, len(docs) - limit)[len(docs) - limit]
        keep = rounded >= floor
        docs, rounded = docs[keep], rounded[keep]
    order = np.lexsort((docs, -rounded))[:limit]
    return [(float(rounded[k]), int(docs[k])) for k in order]
