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
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import query as wq

from searchsvc.config import Config
from searchsvc.index import related as _related
from searchsvc.index import state
from searchsvc.index.answers import AnswerCache, related_key, search_key, suggest_key
from searchsvc.index.compile import QueryCompiler, _check_expansions, _plain_words
from searchsvc.index.live import IndexUnavailable, LiveIndex
from searchsvc.index.matching import filter_mask, positive_leaves
from searchsvc.index.ranking import by_relevance, match
from searchsvc.index.schema import SNIPPET_SCAN_CHARS, TEXT_FIELDS, stored_dict, stored_hit
from searchsvc.index.snippets import highlight
from searchsvc.query import Filters, Hit, SearchRequest, SearchResult, lead_snippet

__all__ = ["IndexUnavailable", "SearchIndex"]

log = logging.getLogger(__name__)

DID_YOU_MEAN_BELOW = 3  # a query with fewer hits gets a spelling suggestion


class SearchIndex(LiveIndex, QueryCompiler):
    """The search side of the index, for the web app and the command line."""

    def __init__(self, config: Config) -> None:
        LiveIndex.__init__(self, config)
        QueryCompiler.__init__(self, config)
        self.answers = AnswerCache(config.search.cache_entries)
        self._answered = threading.local()

    def answered_generation(self) -> int | None:
        """The index generation of this thread's last answer of `search`, `suggest` or
        `related` (for the HTTP layer to say which generation answered)."""
        return getattr(self._answered, "generation", None)

    def _cached(self, generation: int, key: Any, compute: Any) -> Any:
        self._answered.generation = generation
        return self.answers.get(generation, key, compute)

    # --- searches ----------------------------------------------------------------------------

    def search(self, req: SearchRequest) -> SearchResult:
        """The answer to a search: from the answer cache when this generation answered
        the same request before (its query echoed as sent, its time this request's)."""
        t0 = time.perf_counter()
        found = self._search_answer(req, t0).result
        return dataclasses.replace(found, query=req.q, took_ms=_ms_since(t0))

    def search_json(self, req: SearchRequest) -> dict[str, Any]:
        """`search(req).to_dict()`, for the HTTP layer. The JSON form is kept with the
        cached answer: building it again was most of the time of a cache hit."""
        t0 = time.perf_counter()
        answer = self._search_answer(req, t0)
        if answer.json is None:
            answer.json = answer.result.to_dict()  # two threads may both: the same dict
        out = dict(answer.json)  # the same order of keys, two values this request's
        out["query"], out["took_ms"] = req.q, _ms_since(t0)
        return out

    def _search_answer(self, req: SearchRequest, t0: float) -> _Answer:
        searcher = self.searcher()
        return self._cached(
            _generation(searcher),
            search_key(req),
            lambda: _Answer(self._search(searcher, req, t0)),
        )

    def _search(self, searcher: Any, req: SearchRequest, t0: float) -> SearchResult:
        tables = self.tables.get(searcher)
        allowed = filter_mask(searcher, tables, req.filters)
        start, stop = (req.page - 1) * req.per_page, req.page * req.per_page
        partial = False
        terms: dict[str, set[str]] = {}
        if req.q:
            q = self.compile(req.q)
            _check_expansions(q, searcher.reader(), self.config.search.max_expansions)
            scored, found = match(searcher, tables, q, allowed)
            if not found.any() and _plain_words(req.q) > 1:
                q = self.compile(req.q, "or")
                scored, found = match(searcher, tables, q, allowed)
            leaves = positive_leaves(q)
            terms = _terms_by_field(leaves, searcher.reader())
            if req.sort == "relevance":
                page, partial = by_relevance(
                    searcher,
                    tables,
                    q,
                    scored,
                    leaves,
                    found,
                    start,
                    stop,
                    req.q,
                    self.config.search,
                    self.tables,
                )
            else:
                page = [(None, d) for d in tables.ordered(found, req.sort, start, stop)]
        else:
            found = allowed if allowed is not None else tables.live
            sort = "-date" if req.sort == "relevance" else req.sort
            page = [(None, d) for d in tables.ordered(found, sort, start, stop)]
        total = int(np.count_nonzero(found))
        hits = [self._hit(searcher.stored_fields(d), score, terms) for score, d in page]
        did_you_mean = None
        if req.q and total < DID_YOU_MEAN_BELOW and _plain_words(req.q):
            did_you_mean = self.vocabulary.get(searcher).correct(req.q.split())
        return SearchResult(
            query=req.q,
            did_you_mean=did_you_mean,
            total=total,
            page=req.page,
            per_page=req.per_page,
            took_ms=round((time.perf_counter() - t0) * 1000, 2),
            hits=hits,
            facets=tables.facets(found, searcher),
            partial=partial,
        )

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

        return self._cached(_generation(searcher), related_key(doc_id, filters, limit), compute)

    def health(self) -> dict[str, Any]:
        searcher = self.searcher()
        if not os.access(self.index_dir, os.W_OK):
            # Searches go on from the index there is; new content cannot get in.
            raise IndexUnavailable("the index directory is read-only: index runs cannot update it")
        return {
            "status": "ok",
            "documents": searcher.doc_count(),
            "generation": _generation(searcher),
        }

    def stats(self) -> dict[str, Any]:
        searcher = self.searcher()
        runs = state.read(self.index_dir)
        return {
            "documents": searcher.doc_count(),
            "by_kind": {k: searcher.doc_frequency("kind", k) for k in ("event", "source")},
            "generation": _generation(searcher),
            "index_bytes": _dir_size(self.index_dir),
            "runs": runs.get("runs", 0),
            "last_run": runs.get("last_run"),
            "running": runs.get("running"),
            "next_run": runs.get("next_run"),
            "cache": self.answers.stats(),
        }


@dataclasses.dataclass
class _Answer:
    """A search's answer as cached: the result, and its JSON form once asked for."""

    result: SearchResult
    json: dict[str, Any] | None = None


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
            pairs = list(leaf.expanded_terms(reader))
        for field, text in pairs:
            if field in TEXT_FIELDS:
                word = text.decode("utf-8") if isinstance(text, bytes) else text
                out.setdefault(field, set()).add(word)
    return out


def _generation(searcher: Any) -> int:
    return searcher.reader().generation()


def _dir_size(path: Path) -> int:
    """Bytes of the index and the files kept beside it (the manifest is a folder)."""
    total = 0
    try:
        for p in path.rglob("*"):
            if p.is_file():
                total += p.stat().st_size
    except OSError:
        pass
    return total
