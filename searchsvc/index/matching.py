"""Which documents a query and its filters match: exactly, every one, with their scores.

Totals and facets are counted from these sets, never from a pass that collects the top of
the ranking: Whoosh's collectors stop visiting the documents that can no longer reach the
page (a union matcher drops the fields whose scores are too low), which left up to half of
the matches out of the totals. Here each node of the compiled query is a sorted array of
document numbers with their scores (scoring.py): a term is its posting list; AND, OR and
NOT are set operations that add up scores as Whoosh's matchers do; a phrase is checked at
the documents holding all its words; a prefix, wildcard or fuzzy term is the union of the
words it expands to (at most `search.max_expansions`); a date range compares the day
table. One walk gives both the counts and, where Whoosh's scores are mirrored, the ranking.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
from whoosh import query as wq

from searchsvc.index.schema import DayRange, label_key
from searchsvc.index.scoring import NOTHING, Scored, term, text_of
from searchsvc.index.tables import KINDS, Tables
from searchsvc.index.whoosh_compat import positions_at
from searchsvc.model import LABELS
from searchsvc.query import Filters, QueryError

_MULTI = (wq.Prefix, wq.Wildcard, wq.FuzzyTerm, wq.TermRange, wq.Variations)


def evaluate(searcher: Any, tables: Tables, q: Any) -> Scored:
    """The documents a compiled query matches, every one of them, and their scores as
    Whoosh's matchers add them up (an AND or OR sums its matching children, a NOT counts
    1, a date range 0). The one walk over a query: the counts come from its documents,
    the ranking from its scores when they are `exact`."""
    if type(q) is wq.Term:
        return term(searcher, tables, q)
    if isinstance(q, DayRange):
        return Scored.of_ids(np.flatnonzero(tables.live & tables.days_between(q.start, q.end)))
    if isinstance(q, wq.Every):
        return Scored.of_ids(np.flatnonzero(tables.live), exact=False)
    if isinstance(q, wq.Not):  # Whoosh's InverseMatcher scores 1
        inner = evaluate(searcher, tables, q.query)
        mask = tables.live.copy()
        mask[inner.ids] = False
        return Scored.of_ids(np.flatnonzero(mask), 1.0, inner.exact)
    if isinstance(q, wq.AndNot | wq.AndMaybe | wq.Require):
        a, b = evaluate(searcher, tables, q.a), evaluate(searcher, tables, q.b)
        exact = a.exact and b.exact
        if isinstance(q, wq.AndNot):
            keep = ~np.isin(a.ids, b.ids, assume_unique=True)
            return Scored(a.ids[keep], a.scores[keep], exact)
        ids, ia, ib = np.intersect1d(a.ids, b.ids, assume_unique=True, return_indices=True)
        if isinstance(q, wq.Require):  # the documents of both, the scores of a
            return Scored(ids, a.scores[ia], exact)
        scores = a.scores.copy()  # AndMaybe: a's documents, b's score where it matches
        scores[ia] += b.scores[ib]
        return Scored(a.ids, scores, exact)
    if isinstance(q, wq.And):
        parts = [evaluate(searcher, tables, c) for c in q.children()]
        if not parts:
            return NOTHING
        out = parts[0]
        for p in parts[1:]:
            ids, ia, ib = np.intersect1d(out.ids, p.ids, assume_unique=True, return_indices=True)
            out = Scored(ids, out.scores[ia] + p.scores[ib], out.exact and p.exact)
        return out
    if isinstance(q, wq.Or | wq.DisjunctionMax):
        parts = [evaluate(searcher, tables, c) for c in q.children()]
        exact = type(q) is wq.Or and all(p.exact for p in parts)  # DisjunctionMax: not a sum
        return _union(parts, exact)
    if isinstance(q, _MULTI):  # the union of the words it expands to
        parts = [
            term(searcher, tables, wq.Term(field, text))
            for field, text in expanded(q, searcher.reader())
        ]
        return _union(parts, exact=False)
    if isinstance(q, wq.Phrase):
        return _phrase(searcher, tables, q)
    if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        return NOTHING
    # Anything else the parser may make: Whoosh's own matcher, every match.
    return Scored.of_ids(
        np.sort(np.fromiter(searcher.docs_for_query(q), dtype=np.int64)), exact=False
    )


def expanded(q: Any, reader: Any) -> list[tuple[str, Any]]:
    """The (field, word) pairs a prefix, wildcard or fuzzy term expands to, as Whoosh's
    matchers expand it: segment by segment. The expansion of the whole index differs for
    fuzzy terms (it counts a transposition as one edit, a segment does not): `arm~` took
    `amr` there, counted a document that no page could show."""
    seen: dict[tuple[str, Any], None] = {}
    for segment, _ in reader.leaf_readers():
        seen.update(dict.fromkeys(q.expanded_terms(segment)))
    return list(seen)


def _union(parts: list[Scored], exact: bool) -> Scored:
    if len(parts) <= 1:
        out = parts[0] if parts else NOTHING
        return Scored(out.ids, out.scores, out.exact and exact)
    ids, where = np.unique(np.concatenate([p.ids for p in parts]), return_inverse=True)
    weights = np.concatenate([p.scores for p in parts])
    sums = np.bincount(where, weights=weights, minlength=len(ids))
    return Scored(ids, sums.astype(np.float64, copy=False), exact)  # int64 when empty


def _phrase(searcher: Any, tables: Tables, q: Any) -> Scored:
    """The documents holding all the words, then their positions read at those only (a
    phrase of common words costs what their rare combination does). Whoosh scores a
    phrase as the AND of its words, times the phrase's boost."""
    words = [text_of(w) for w in q.words]
    parts = [term(searcher, tables, wq.Term(q.fieldname, w)) for w in words]
    ids = parts[0].ids
    for p in parts[1:]:
        ids = np.intersect1d(ids, p.ids, assume_unique=True)
    if q.slop != 1 or len(words) < 2:  # not made by our parser; Whoosh knows how
        found = np.fromiter(searcher.docs_for_query(q), dtype=np.int64)
        return Scored.of_ids(np.intersect1d(ids, found), exact=False)
    candidates = ids
    ids = tables.phrase(
        q.fieldname,
        tuple(words),
        lambda: np.asarray(
            sorted(phrase_docs(searcher, q.fieldname, words, candidates.tolist())), np.int64
        ),
    )
    scores = np.zeros(len(ids))
    for part in parts:
        scores += part.scores[np.searchsorted(part.ids, ids)]
    return Scored(ids, scores * q.boost if q.boost != 1.0 else scores)


def phrase_docs(searcher: Any, field: str, words: list[str], docnums: list[int]) -> set[int]:
    """Which of these documents (sorted) hold the words as a phrase in the field (their
    positions consecutive), read from the words' postings at just these documents."""
    found: set[int] = set()
    for segreader, offset in searcher.reader().leaf_readers():
        local = [d - offset for d in docnums if offset <= d < offset + segreader.doc_count_all()]
        if not local:
            continue
        positions = [positions_at(segreader, field, w, local) for w in words]
        for d in local:
            if all(d in p for p in positions):
                rest = [set(p[d]) for p in positions[1:]]
                if any(all(s + k in ps for k, ps in enumerate(rest, 1)) for s in positions[0][d]):
                    found.add(d + offset)
    return found


def filter_mask(
    searcher: Any,
    tables: Tables,
    filters: Filters,
    synonyms: Callable[[str], tuple[str, ...]] | None = None,
) -> np.ndarray | None:
    """The documents the filters let through; None when there are none. `synonyms`:
    what a tag or location also finds (a value keeps the documents with any of them)."""
    if not filters:
        return None
    mask = tables.live.copy()
    for lb in LABELS:
        for value in filters.labels.get(lb.name, ()):
            names = (value, *synonyms(value)) if synonyms and lb.multi else (value,)
            ids = [tables.term(searcher, lb.name, label_key(v, lb.multi)) for v in names]
            held = ids[0] if len(ids) == 1 else np.unique(np.concatenate(ids))
            mask &= Scored.of_ids(held).mask(tables.size)
    for kind in filters.kinds:
        mask &= tables.kinds == KINDS.index(kind)
    if filters.date_from or filters.date_to:
        mask &= tables.days_between(filters.date_from, filters.date_to)
    if filters.near is not None:
        lat, lon = _point(tables, filters.near)
        mask &= tables.places.near(lat, lon, filters.km)
    if filters.bbox is not None:
        mask &= tables.places.within(*filters.bbox)
    return mask


def _point(tables: Tables, near: tuple[float, float] | str) -> tuple[float, float]:
    """near= as coordinates: given, or those the index holds for a location of that name."""
    if not isinstance(near, str):
        return near
    place = tables.place(label_key(near))
    if "lat" not in place:
        why = "has no coordinates" if place else "is not a location of the index"
        raise QueryError(f"near={near[:40]!r} {why}: give lat,lon", "near")
    return place["lat"], place["lon"]


def scoring_query(q: Any) -> Any:
    """The query that ranks the documents of a match set: the query without what never
    adds to a score (date ranges, Every), which the match set enforces anyway; None if
    nothing is left. Its matches within the set are scored; the rest of the set follows
    them unscored."""
    if isinstance(q, DayRange | wq.Every) or q is wq.NullQuery:
        return None
    if isinstance(q, wq.Not):
        inner = scoring_query(q.query)
        return None if inner is None else wq.Not(inner)
    if isinstance(q, wq.AndNot | wq.AndMaybe | wq.Require):
        a, b = scoring_query(q.a), scoring_query(q.b)
        return a if a is None or b is None else type(q)(a, b)
    if isinstance(q, wq.And | wq.Or | wq.DisjunctionMax):
        kept = [c for c in map(scoring_query, q.children()) if c is not None]
        if len(kept) <= 1:
            return kept[0] if kept else None
        out = copy.copy(q)
        out.subqueries = kept
        return out
    return q


def positive_leaves(q: Any) -> list[Any]:
    """The leaves that add to a document's score: everything but what is negated, the
    date ranges, and the nothing-matchers. Their union, scored, ranks the documents of a
    match set (for the documents of the set, it is the score of the query itself: AND
    and OR both add up their matching children)."""
    if isinstance(q, wq.Not):
        return []
    if isinstance(q, wq.AndNot):
        return positive_leaves(q.a)
    if isinstance(q, DayRange | wq.Every) or q is wq.NullQuery:
        return []
    if q.is_leaf() or isinstance(q, wq.Phrase):
        return [q]
    return [leaf for child in q.children() for leaf in positive_leaves(child)]
