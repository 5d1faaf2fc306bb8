"""Which documents a query and its filters match: exactly, as sets, without scoring.

Totals and facets are counted from these sets, never from the scored pass: Whoosh's
collectors stop visiting the documents that can no longer reach the page (a union matcher
drops the fields whose scores are too low), which left up to half of the matches out of
the totals. Here every node of the compiled query is a boolean mask over the generation's
document numbers: a term is its posting list; AND, OR and NOT are mask operations; a
phrase is checked by Whoosh's phrase matcher among the documents holding all its words;
a prefix, wildcard or fuzzy term is the union of the words it expands to (at most
`search.max_expansions`); a date range compares the day table.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from whoosh import query as wq

from searchsvc.index.schema import DayRange, label_key
from searchsvc.index.tables import KINDS, Tables
from searchsvc.index.whoosh_compat import positions_at
from searchsvc.query import Filters

_MULTI = (wq.Prefix, wq.Wildcard, wq.FuzzyTerm, wq.TermRange, wq.Variations)


class Matcher:
    """Match sets over one index generation, from its tables (and their cache of
    posting lists)."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def term(self, searcher: Any, field: str, text: str) -> np.ndarray:
        return self.tables.term(searcher, field, text)

    def _mask(self, ids: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.tables.size, dtype=bool)
        mask[ids] = True
        return mask

    def query(self, searcher: Any, q: Any) -> np.ndarray:
        """The documents a compiled query matches, as a mask."""
        t = self.tables
        if isinstance(q, wq.Term):
            return self._mask(self.term(searcher, q.fieldname, _text(q.text)))
        if isinstance(q, DayRange):
            return t.live & t.days_between(q.start, q.end)
        if isinstance(q, wq.Every):
            return t.live.copy()
        if isinstance(q, wq.Not):
            return t.live & ~self.query(searcher, q.query)
        if isinstance(q, wq.AndNot):
            return self.query(searcher, q.a) & ~self.query(searcher, q.b)
        if isinstance(q, wq.AndMaybe):
            return self.query(searcher, q.a)
        if isinstance(q, wq.Require):
            return self.query(searcher, q.a) & self.query(searcher, q.b)
        if isinstance(q, wq.And | wq.Or | wq.DisjunctionMax):
            masks = [self.query(searcher, c) for c in q.children()]
            if not masks:
                return np.zeros(t.size, dtype=bool)
            return combine(masks, isinstance(q, wq.And))
        if isinstance(q, _MULTI):
            mask = np.zeros(t.size, dtype=bool)
            for field, text in q.expanded_terms(searcher.reader()):
                mask[self.term(searcher, field, _text(text))] = True
            return mask
        if isinstance(q, wq.Phrase):
            return self._phrase(searcher, q)
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return np.zeros(t.size, dtype=bool)
        # Anything else the parser may make: Whoosh's own matcher, every match.
        return self._mask(np.fromiter(searcher.docs_for_query(q), dtype=np.int64))

    def _phrase(self, searcher: Any, q: Any) -> np.ndarray:
        """The documents holding all the words, then their positions read there only:
        a phrase of common words costs what their rare combination does."""
        words = [_text(w) for w in q.words]
        candidates = self._mask(self.term(searcher, q.fieldname, words[0]))
        for w in words[1:]:
            candidates &= self._mask(self.term(searcher, q.fieldname, w))
        docnums = np.flatnonzero(candidates).tolist()
        if q.slop != 1 or len(words) < 2:  # not made by our parser; Whoosh knows how
            found = np.fromiter(searcher.docs_for_query(q), dtype=np.int64)
            return self._mask(found) & candidates
        return self._mask(
            np.asarray(sorted(phrase_docs(searcher, q.fieldname, words, docnums)), dtype=np.int64)
        )

    def filters(self, searcher: Any, filters: Filters) -> np.ndarray | None:
        """The documents the filters let through; None when there are none."""
        if not filters:
            return None
        t = self.tables
        mask = t.live.copy()
        for field, values in (
            ("tags", filters.tags),
            ("locations", filters.locations),
            ("story", filters.stories),
        ):
            for value in values:
                key = label_key(value) if field != "story" else value.lower()
                mask &= self._mask(self.term(searcher, field, key))
        for kind in filters.kinds:
            mask &= t.kinds == KINDS.index(kind)
        if filters.date_from or filters.date_to:
            mask &= t.days_between(filters.date_from, filters.date_to)
        return mask


def combine(masks: list[np.ndarray], every: bool) -> np.ndarray:
    """The AND (every) or OR of masks, in place in a copy of the first (numpy's
    `reduce` over a list first copies the list into one two-dimensional array)."""
    out = masks[0].copy()
    for m in masks[1:]:
        if every:
            out &= m
        else:
            out |= m
    return out


def _text(text: str | bytes) -> str:
    return text.decode("utf-8") if isinstance(text, bytes) else text


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
