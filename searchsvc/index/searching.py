"""Answering searches over the index: hits, snippets, facets, suggestions, related events,
health and stats, for the web app and the command line.

`SearchIndex` is the one object they use. It is the live index (`live.py`: opening,
per-thread searchers, switching generations) with a query compiler (`compile.py`); it
runs queries with `ranking.py` and `matching.py`, and assembles the answers here. It is
safe to share between threads (see `live.py`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import numpy as np
from whoosh import query as wq

from searchsvc.config import Config
from searchsvc.index import related as _related
from searchsvc.index.answers import (
    AnswerCache,
    CachedText,
    SearchText,
    related_key,
    search_key,
    suggest_key,
)
from searchsvc.index.compile import QueryCompiler, _check_expansions, _plain_words
from searchsvc.index.live import IndexUnavailable, LiveIndex
from searchsvc.index.matching import expanded, filter_mask, positive_leaves
from searchsvc.index.pages import (
    Part,
    collapsed_page,
    dated,
    fixed,
    groups,
    page_of,
    recency,
    see_all,
    story_codes,
)
from searchsvc.index.pins import Pins, PinsReport
from searchsvc.index.pins import parse as parse_pins
from searchsvc.index.ranking import by_relevance, match
from searchsvc.index.schema import (
    SNIPPET_SCAN_CHARS,
    TEXT_FIELDS,
    label_key,
    stored_dict,
    stored_hit,
)
from searchsvc.index.snippets import highlight
from searchsvc.index.status import IndexStatus, generation_of
from searchsvc.index.tables import Tables
from searchsvc.index.watched import WatchedFile
from searchsvc.query import (
    Filters,
    Histogram,
    Hit,
    QueryError,
    SearchRequest,
    SearchResult,
    lead_snippet,
)

__all__ = ["IndexUnavailable", "SearchIndex"]

log = logging.getLogger(__name__)
T = TypeVar("T")

DID_YOU_MEAN_BELOW = 3  # a query with fewer hits gets a spelling suggestion
_UNTRIED = object()  # no spelling correction made yet


class AnswerState(NamedTuple):
    """What an answer depends on besides the request (`SearchIndex.answer_state`)."""

    generation: int
    synonyms: int  # the version of the synonyms file in force
    pins: int  # and of the pins file
    vocabulary: int  # the generation the vocabulary was built on


# A part of a result as matched: (its text, query, scores, documents).
Matched = tuple[str, Any, Any, np.ndarray]


class SearchIndex(LiveIndex, QueryCompiler, IndexStatus):
    """The search side of the index, for the web app and the command line."""

    def __init__(self, config: Config) -> None:
        LiveIndex.__init__(self, config)
        QueryCompiler.__init__(self, config)
        self.pins = WatchedFile(config.search.pins, parse_pins, Pins())
        self.pins_report = PinsReport()
        self.answers = AnswerCache(config.search.cache_entries)
        self._answered = threading.local()

    def answered_generation(self) -> int | None:
        """The index generation of this thread's last answer of `search`, `suggest` or
        `related` (for the HTTP layer to say which generation answered)."""
        return getattr(self._answered, "generation", None)

    def _cached(self, generation: int, key: Any, compute: Any, keep: Any = None) -> Any:
        self._answered.generation = generation
        return self.answers.get(generation, key, compute, keep)

    # --- searches ----------------------------------------------------------------------------

    def search(self, req: SearchRequest) -> SearchResult:
        """The answer to a search: from the answer cache when this generation answered
        the same request before (its query echoed as sent, its time this request's)."""
        t0 = time.perf_counter()
        found = self._search_answer(req, t0, "result", lambda result: result)
        return dataclasses.replace(found, query=req.q, took_ms=_ms_since(t0))

    def search_text(self, req: SearchRequest, dumps: Callable[[Any], str]) -> SearchText:
        """The answer as JSON text (`dumps` of `search(req).to_dict()`), for the HTTP
        layer. Cached apart from `search`'s answers, as the text alone but for the query
        and the time: a fifth of the memory of a result, and no JSON to spell again."""
        t0 = time.perf_counter()
        answer = self._search_answer(req, t0, "text", lambda r: CachedText.of(r, dumps))
        return answer.answer(req.q, _ms_since(t0))

    def answer_state(self, searcher: Any) -> AnswerState:
        """What a search's answer depends on besides the request: the generation, the
        versions of the synonyms and pins in force (they change answers without a new
        generation; an edited file is read again here) and the vocabulary's generation
        (it spells corrections and labels, and lags: search.vocabulary_refresh). The
        answer cache keys by it, and so do HTTP validators (ETags)."""
        self.synonyms.get()
        self.pins.get()
        return AnswerState(
            generation_of(searcher),
            self.synonyms.version,
            self.pins.version,
            self.vocabulary.generation,
        )

    def _search_answer(
        self, req: SearchRequest, t0: float, form: str, keep_as: Callable[[SearchResult], T]
    ) -> T:
        searcher = self.searcher()
        generation, *versions = self.answer_state(searcher)
        return self._cached(  # type: ignore[no-any-return]
            generation,
            (form, search_key(req), *versions),
            lambda: keep_as(self._search(searcher, req, t0)),
            keep=lambda answer: not answer.partial,  # cut by time: not the answer
        )

    def _search(self, searcher: Any, req: SearchRequest, t0: float) -> SearchResult:
        """A search computed: what matches (exact sets), in ranked parts, counted, paged."""
        tables = self.tables.get(searcher)
        synonyms = self.synonyms.get()
        alternatives = synonyms.alternatives if synonyms.table else None
        allowed = filter_mask(searcher, tables, req.filters, alternatives)
        matched, corrected, suggestion = (
            self._matched(searcher, tables, req, allowed) if req.q else ([], None, _UNTRIED)
        )
        pinned = self._pinned(searcher, req, allowed) if req.q and req.sort == "relevance" else []
        parts, terms = self._parts(searcher, tables, req, matched, pinned, allowed)
        everything = parts[0].mask.copy()
        for part in parts[1:]:
            everything |= part.mask
        total = int(np.count_nonzero(everything))
        hits, total_groups, partial = self._page(
            searcher, tables, req, parts, (everything, total), terms, pinned
        )
        did_you_mean = None
        if req.q and not corrected and total < DID_YOU_MEAN_BELOW and _plain_words(req.q):
            if suggestion is _UNTRIED:
                suggestion = self.vocabulary.get(searcher).correct(req.q.split())
            did_you_mean = suggestion
        return SearchResult(
            query=req.q,
            did_you_mean=did_you_mean,
            corrected_query=corrected,
            total=total,
            total_groups=total_groups,
            page=req.page,
            per_page=req.per_page,
            took_ms=round((time.perf_counter() - t0) * 1000, 2),
            hits=hits,
            facets=tables.facets(everything, searcher, self._spelling(searcher)),
            histogram=_histogram(tables, everything, req.histogram),
            partial=partial,
        )

    def _matched(
        self, searcher: Any, tables: Tables, req: SearchRequest, allowed: np.ndarray | None
    ) -> tuple[list[Matched], str | None, Any]:
        """What the query matches, as the result's parts in order: the query as typed;
        then its spelling correction, when it found too few and the correction finds more
        (the corrected query is returned too); or, when all its words find nothing, any of
        them (OR). And the spelling suggestion made on the way (`_UNTRIED`: none was)."""
        q = self.compile(req.q)
        _check_expansions(q, searcher.reader(), self.config.search.max_expansions)
        scored, found = match(searcher, tables, q, allowed)
        suggestion: Any = _UNTRIED
        plain = _plain_words(req.q)
        if plain and req.spell and np.count_nonzero(found) < self.config.search.correct_below:
            # Made once: the same correction is the suggestion when it finds no more.
            suggestion = self.vocabulary.get(searcher).correct(req.q.split())
            fix = self._correction(searcher, tables, suggestion, found, allowed)
            if fix is not None:
                return [(req.q, q, scored, found), fix], fix[0], suggestion
        if not found.any() and plain > 1:
            q = self.compile(req.q, "or")
            scored, found = match(searcher, tables, q, allowed)
        return [(req.q, q, scored, found)], None, suggestion

    def _parts(
        self,
        searcher: Any,
        tables: Tables,
        req: SearchRequest,
        matched: list[Matched],
        pinned: list[int],
        allowed: np.ndarray | None,
    ) -> tuple[list[Part], dict[str, set[str]]]:
        """The result's parts, each ranked, paged one after another: the pins, then what
        the query (and its correction) matched without them; without a query, every
        allowed document by date. And the query's words by field, for the snippets."""
        by_relevance = req.sort == "relevance"
        parts = [fixed(tables.size, pinned)] if pinned else []
        if pinned:
            matched = [(t, q, sc, m & ~parts[0].mask) for t, q, sc, m in matched]
        decay = recency(tables, req.recency) if req.recency and by_relevance else None
        terms: dict[str, set[str]] = {}
        for text, q, scored, found in matched:
            leaves = positive_leaves(q)
            for field, words in _terms_by_field(leaves, searcher.reader()).items():
                terms.setdefault(field, set()).update(words)
            if by_relevance:
                rank = self._ranker(searcher, tables, q, scored, leaves, found, text, decay)
                parts.append(Part(found, rank))
            else:
                parts.append(dated(tables, found, req.sort))
        if not req.q:
            found = allowed if allowed is not None else tables.live
            parts.append(dated(tables, found, "-date" if by_relevance else req.sort))
        return parts, terms

    def _page(
        self,
        searcher: Any,
        tables: Tables,
        req: SearchRequest,
        parts: list[Part],
        result: tuple[np.ndarray, int],
        terms: dict[str, set[str]],
        pinned: list[int],
    ) -> tuple[list[Hit], int | None, bool]:
        """The requested page's hits; with collapse=story one hit a story, and the count
        of stories; and whether the ranking was cut by time (`partial`). `result`: every
        document the parts hold, and how many."""
        everything, total = result
        start, stop = (req.page - 1) * req.per_page, req.page * req.per_page
        grouped = None
        if req.collapse == "story":
            codes = story_codes(tables)
            grouped = groups(tables, codes, everything)
            page, partial = collapsed_page(
                lambda a, b: page_of(parts, a, b), total, codes, start, stop
            )
        else:
            page, partial = page_of(parts, start, stop)
        hits = []
        for score, d in page:
            hit = self._hit(searcher.stored_fields(d), score, terms)
            hit.pinned = d in pinned
            if grouped is not None and codes[d] >= 0:
                hit.collapsed = int(grouped.per_story[codes[d]]) - 1
                if hit.collapsed:
                    hit.see_all = see_all(req, hit.story or "")
            hits.append(hit)
        return hits, grouped.total if grouped is not None else None, partial

    def _spelling(self, searcher: Any) -> Any:
        """Facet values as most documents spell them (the index keys labels lowercase: one
        value whatever the case); the vocabulary knows the labels it suggests."""
        vocabulary = self.vocabulary.get(searcher)
        return lambda lb, key: vocabulary.label(lb.param, key) if lb.suggest else None

    def _correction(
        self, searcher: Any, tables: Tables, fix: str | None, found: np.ndarray, allowed: Any
    ) -> Matched | None:
        """The query as the index's vocabulary spells it, its scores and the documents it
        finds that the query as typed does not; None when it finds none more."""
        if not fix:
            return None
        try:
            q = self.compile(fix)
        except QueryError:  # a correction of stop words only ("Fox" -> "for"): none
            return None
        scored, more = match(searcher, tables, q, allowed)
        more &= ~found
        return (fix, q, scored, more) if more.any() else None

    def _pinned(self, searcher: Any, req: SearchRequest, allowed: Any) -> list[int]:
        """The documents the editors pinned for this query, in their order: those the
        index holds and the filters let through."""
        pins = self.pins.get()
        if not pins.by_query:
            return []
        # Unknown ids are logged at the first search after the pins or the index change.
        self.pins_report.check(pins, searcher)
        ids = pins.ids(req.q)
        out: list[int] = []
        for doc_id in ids:
            d = searcher.document_number(id=doc_id)
            if d is not None and (allowed is None or allowed[d]) and d not in out:
                out.append(d)
        return out

    def _ranker(
        self,
        searcher: Any,
        tables: Any,
        q: Any,
        scored: Any,
        leaves: list[Any],
        found: np.ndarray,
        text: str,
        decay: np.ndarray | None,
    ) -> Any:
        """Positions start to stop of these documents by relevance (ranking.py)."""
        cfg = self.config.search

        def rank(start: int, stop: int) -> Any:
            return by_relevance(
                searcher,
                tables,
                q,
                scored,
                leaves,
                found,
                start,
                stop,
                text,
                cfg,
                self.tables,
                decay,
            )

        return rank

    def _hit(self, stored: dict[str, Any], score: float | None, terms: dict[str, set[str]]) -> Hit:
        data = stored_hit(stored)
        snippet = ""
        for field in ("summary", "body", "title"):
            text = data.get(field) or ""
            if text and terms.get(field):
                snippet = highlight(text[:SNIPPET_SCAN_CHARS], terms[field])
                if snippet:
                    break
        if not snippet:
            snippet = lead_snippet(data.get("summary") or data.get("body") or "")
        return Hit.from_stored(data, snippet, round(score, 4) if score is not None else None)

    # --- documents ---------------------------------------------------------------------------

    def get(self, doc_id: str) -> dict[str, Any] | None:
        stored = self.searcher().document(id=doc_id)
        return stored_dict(stored) if stored else None

    def places(self, names: list[str]) -> list[dict[str, Any]]:
        """Locations with the kind and coordinates the index holds for them (the map of
        an event's page): `{value, kind, lat, lon}`, only what is known."""
        tables = self.tables.get(self.searcher())
        return [{"value": n, **tables.place(label_key(n))} for n in names]

    def suggest(self, prefix: str, limit: int) -> list[dict[str, Any]]:
        """Completions for a search box: tags, stories, locations and title words that
        start with the prefix (or have a word that does), the most frequent first."""
        vocabulary, generation = self.vocabulary.current(self.searcher())
        return self._cached(
            generation, suggest_key(prefix, limit), lambda: vocabulary.suggest(prefix, limit)
        )

    def related(self, doc_id: str, filters: Filters, limit: int) -> list[Hit] | None:
        """The events most related to a document; None when there is no such document."""
        searcher = self.searcher()

        def compute() -> list[Hit] | None:
            stored = searcher.document(id=doc_id)
            if stored is None:
                return None
            tables = self.tables.get(searcher)
            allowed = filter_mask(searcher, tables, filters)
            return _related.related(
                searcher, tables, stored_dict(stored), self.config.related, limit, allowed
            )

        return self._cached(generation_of(searcher), related_key(doc_id, filters, limit), compute)


def _histogram(tables: Any, found: np.ndarray, interval: str | None) -> Histogram | None:
    if interval is None:
        return None
    used, buckets, undated = tables.histogram(found, interval)
    return Histogram(
        interval=used,  # type: ignore[arg-type]
        buckets=[{"key": key, "count": count} for key, count in buckets],
        undated=undated,
    )


def _ms_since(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def _terms_by_field(leaves: list[Any], reader: Any) -> dict[str, set[str]]:
    """The words each text field's snippet highlights: the query's positive words, and
    what its prefixes and fuzzy terms expand to."""
    out: dict[str, set[str]] = {}
    for leaf in leaves:
        if isinstance(leaf, wq.Phrase):
            pairs = [(leaf.fieldname, w) for w in leaf.words]
        elif isinstance(leaf, wq.Term):
            pairs = [(leaf.fieldname, leaf.text)]
        else:
            pairs = expanded(leaf, reader)
        for field, text in pairs:
            if field in TEXT_FIELDS:
                word = text.decode("utf-8") if isinstance(text, bytes) else text
                out.setdefault(field, set()).add(word)
    return out
