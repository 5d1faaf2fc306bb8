"""Answering searches over the index: queries, filters, ranking, facets, snippets.

`SearchIndex` is safe to share between threads: each thread gets its own Whoosh searcher,
and moves to the newest committed generation at most `REFRESH_SECONDS` after a commit.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.collectors import TimeLimit, TimeLimitCollector
from whoosh.highlight import ContextFragmenter, HtmlFormatter, get_text
from whoosh.qparser import AndGroup, FuzzyTermPlugin, MultifieldParser, OrGroup
from whoosh.sorting import FieldFacet

from searchsvc.config import Config
from searchsvc.index import related as _related
from searchsvc.index import state
from searchsvc.index.schema import TEXT_ANALYZER, TEXT_FIELDS, day_to_date, stored_dict
from searchsvc.query import (
    SNIPPET_CHARS,
    Filters,
    Hit,
    QueryError,
    SearchRequest,
    SearchResult,
    lead_snippet,
)

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.5
FACET_SIZE = 20


class IndexUnavailable(RuntimeError):
    """There is no usable index (missing, unreadable, or being created)."""


class _MarkFormatter(HtmlFormatter):
    """Matches wrapped in a bare <mark>, everything HTML-escaped."""

    def __init__(self) -> None:
        super().__init__(tagname="mark", between=" … ")

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return "<mark>" + self._text(get_text(text, token, replace)) + "</mark>"


@dataclass
class _Labels:
    """Per segment: for each document, its tag and location keys, year and kind."""

    tags: list[list[str]]
    locations: list[list[str]]
    years: list[int | None]
    kinds: list[str]


def _segment_labels(reader: Any) -> _Labels:
    n = reader.doc_count_all()
    tags: list[list[str]] = [[] for _ in range(n)]
    locations: list[list[str]] = [[] for _ in range(n)]
    kinds = [""] * n
    fieldnames = set(reader.indexed_field_names())
    for fieldname, table in (("tags", tags), ("locations", locations)):
        if fieldname in fieldnames:
            for term in reader.lexicon(fieldname):
                key = term.decode("utf-8")
                for d in reader.postings(fieldname, term).all_ids():
                    table[d].append(key)
    if "kind" in fieldnames:
        for term in reader.lexicon("kind"):
            for d in reader.postings("kind", term).all_ids():
                kinds[d] = term.decode("utf-8")
    years: list[int | None] = [None] * n
    if reader.has_column("day"):
        column = reader.column_reader("day")
        for d in range(n):
            day = day_to_date(column[d])
            years[d] = day.year if day else None
    return _Labels(tags, locations, years, kinds)


class _Facets:
    """Facet counts over any set of documents of one index generation."""

    def __init__(self, searcher: Any, cache: dict[str, _Labels]) -> None:
        self.searcher = searcher
        self.offsets: list[int] = []
        self.parts: list[_Labels] = []
        self.names: dict[tuple[str, str], str] = {}
        for segreader, offset in searcher.reader().leaf_readers():
            seg_id = segreader.segment().segment_id()
            if seg_id not in cache:
                cache[seg_id] = _segment_labels(segreader)
            self.offsets.append(offset)
            self.parts.append(cache[seg_id])

    def count(self, docnums: Any) -> dict[str, list[dict[str, Any]]]:
        tags: Counter[str] = Counter()
        locations: Counter[str] = Counter()
        years: Counter[int] = Counter()
        kinds: Counter[str] = Counter()
        offsets, parts = self.offsets, self.parts
        for d in docnums:
            k = bisect.bisect_right(offsets, d) - 1
            part, local = parts[k], d - offsets[k]
            tags.update(part.tags[local])
            locations.update(part.locations[local])
            year = part.years[local]
            if year is not None:
                years[year] += 1
            kinds[part.kinds[local]] += 1
        return {
            "tags": self._labelled(tags, "tags"),
            "locations": self._labelled(locations, "locations"),
            "year": [
                {"value": str(y), "count": c}
                for y, c in sorted(years.items(), key=lambda i: (-i[1], -i[0]))[:FACET_SIZE]
            ],
            "kind": [{"value": k, "count": c} for k, c in kinds.most_common() if k],
        }

    def _labelled(self, counts: Counter[str], facet: str) -> list[dict[str, Any]]:
        top = sorted(counts.items(), key=lambda i: (-i[1], i[0]))[:FACET_SIZE]
        return [{"value": self.label(facet, key), "count": c} for key, c in top]

    def label(self, facet: str, key: str) -> str:
        """A key (lowercased) as the documents spell it: "Northern Mali conflict"."""
        name = self.names.get((facet, key))
        if name is None:
            name = key
            postings = self.searcher.postings(facet, key)
            if postings.is_active():
                stored = stored_dict(self.searcher.stored_fields(postings.id()))
                name = next((v for v in stored.get(facet, []) if v.lower() == key), key)
            self.names[(facet, key)] = name
        return name


class SearchIndex:
    """The search side of the index, for the web app and the command line."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.index_dir: Path = config.index.dir
        self._local = threading.local()
        self._lock = threading.Lock()
        self._ix: Any = None
        self._labels: dict[str, _Labels] = {}
        self._facets: dict[int, _Facets] = {}
        s = config.search
        self._boosts = {
            "title": s.title_boost,
            "summary": s.summary_boost,
            "body": s.body_boost,
            "sources": s.sources_boost,
        }

    # --- opening and refreshing ----------------------------------------------------------

    def _index(self) -> Any:
        with self._lock:
            if self._ix is None:
                try:
                    if not whoosh_index.exists_in(str(self.index_dir)):
                        raise IndexUnavailable(
                            f"no index in {self.index_dir}: run `searchsvc index` to build it"
                        )
                    self._ix = whoosh_index.open_dir(str(self.index_dir))
                except IndexUnavailable:
                    raise
                except Exception as exc:
                    raise IndexUnavailable(f"the index cannot be opened: {exc}") from None
            return self._ix

    def searcher(self) -> Any:
        """This thread's searcher, moved to the newest generation when one was committed."""
        local = self._local
        s = getattr(local, "searcher", None)
        now = time.monotonic()
        try:
            if s is None:
                s = self._index().searcher()
            elif now - local.checked > REFRESH_SECONDS and not s.up_to_date():
                s = s.refresh()
        except IndexUnavailable:
            raise
        except Exception as exc:
            local.searcher = None
            with self._lock:
                self._ix = None
            raise IndexUnavailable(f"the index cannot be read: {exc}") from None
        local.searcher, local.checked = s, now
        return s

    def _facets_for(self, searcher: Any) -> _Facets:
        gen = searcher.reader().generation()
        facets = self._facets.get(gen)
        if facets is None:
            with self._lock:
                facets = self._facets.get(gen)
                if facets is None:
                    facets = _Facets(searcher, self._labels)
                    self._facets = {gen: facets}
                    live = {r.segment().segment_id() for r, _ in searcher.reader().leaf_readers()}
                    self._labels = {k: v for k, v in self._labels.items() if k in live}
        return facets

    # --- queries -----------------------------------------------------------------------------

    def compile(self, text: str, group: Any = AndGroup) -> Any:
        """The user's query (Whoosh syntax) as a Whoosh query, or QueryError saying why not."""
        _check_balanced(text)
        parser = MultifieldParser(
            list(TEXT_FIELDS), self._schema(), fieldboosts=self._boosts, group=group
        )
        parser.add_plugin(FuzzyTermPlugin())
        try:
            q = parser.parse(text)
        except Exception as exc:  # Whoosh's parser is lenient; anything else is our 400
            raise QueryError(f"cannot parse the query: {exc}", "q") from None
        _check_query(q, self.config.search.max_terms)
        return q

    def _schema(self) -> Any:
        return self._index().schema

    def _filter(self, filters: Filters) -> Any:
        """The filters as one query that matches with a score of 0, so that AND-ing it
        to a search restricts the hits without changing their scores. (Whoosh's own
        Require and collector filters misbehave with a time limit; see _run.)"""
        parts: list[Any] = []
        parts += [wq.Term("tags", t.lower(), boost=0.0) for t in filters.tags]
        parts += [wq.Term("locations", v.lower(), boost=0.0) for v in filters.locations]
        parts += [wq.Term("kind", k, boost=0.0) for k in filters.kinds]
        parts += [wq.Term("story", s.lower(), boost=0.0) for s in filters.stories]
        if filters.date_from or filters.date_to:
            start = (
                dt.datetime.combine(filters.date_from, dt.time.min) if filters.date_from else None
            )
            end = dt.datetime.combine(filters.date_to, dt.time.max) if filters.date_to else None
            parts.append(wq.DateRange("date", start, end, boost=0.0))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else wq.And(parts)

    def search(self, req: SearchRequest) -> SearchResult:
        t0 = time.perf_counter()
        searcher = self.searcher()
        limit = req.page * req.per_page
        filt = self._filter(req.filters)
        partial = False
        if req.q:
            q = self.compile(req.q)
            boosted = self._with_phrase_boost(q, req.q)
            results, partial = self._run(searcher, boosted, filt, limit, req.sort)
            if results.is_empty() and _plain_words(req.q) > 1:
                q = self.compile(req.q, OrGroup)
                results, partial = self._run(
                    searcher, self._with_phrase_boost(q, req.q), filt, limit, req.sort
                )
        else:
            q = wq.Every()
            sort = "-date" if req.sort == "relevance" else req.sort
            results, partial = self._run(searcher, q if filt is None else filt, None, limit, sort)
        docnums = results.docs()
        total = len(docnums)
        start = (req.page - 1) * req.per_page
        hits = [self._hit(searcher, results, hit) for hit in results[start:limit]]
        facets = self._facets_for(searcher).count(docnums)
        return SearchResult(
            query=req.q,
            total=total,
            page=req.page,
            per_page=req.per_page,
            took_ms=(time.perf_counter() - t0) * 1000,
            hits=hits,
            facets=facets,
            partial=partial,
        )

    def _with_phrase_boost(self, q: Any, text: str) -> Any:
        words = [t.text for t in TEXT_ANALYZER(text)] if _plain_words(text) > 1 else []
        if len(words) < 2:
            return q
        boost = self.config.search.phrase_boost
        phrases = [wq.Phrase(f, words, boost=boost * self._boosts[f]) for f in ("title", "summary")]
        return wq.AndMaybe(q, wq.Or(phrases))

    def _run(self, searcher: Any, q: Any, filt: Any, limit: int, sort: str) -> tuple[Any, bool]:
        # Filters as part of the query (they score 0), not as Whoosh collector filters:
        # its time-limit collector bypasses those, and its Require matcher loses hits.
        if filt is not None:
            q = wq.And([q, filt])
        if sort == "relevance":
            collector = searcher.collector(limit=limit, terms=True)
        else:
            by_date = FieldFacet("day", reverse=(sort == "-date"))
            collector = searcher.collector(limit=limit, sortedby=by_date, terms=True)
        timed = TimeLimitCollector(
            collector, timelimit=self.config.search.time_limit, use_alarm=False
        )
        partial = False
        try:
            searcher.search_with_collector(q, timed)
        except TimeLimit:
            partial = True
        results = timed.results()
        if sort == "relevance" and results.top_n:
            # Among equal scores (to 4 significant places), the newer document first.
            days = searcher.reader().column_reader("day")
            results.top_n.sort(key=lambda sd: (-float(f"{sd[0]:.4g}"), -days[sd[1]]))
        return results, partial

    def _hit(self, searcher: Any, results: Any, hit: Any) -> Hit:
        data = stored_dict(hit.fields())
        snippet = ""
        matched = {f for f, _ in hit.matched_terms()} if results.has_matched_terms() else set()
        for field in ("summary", "body", "title"):
            text = data.get(field) or ""
            if text and field in matched:
                snippet = self._highlight(hit, field, text, results)
                if snippet:
                    break
        if not snippet or "<mark>" not in snippet:
            snippet = lead_snippet(data.get("summary") or data.get("body") or "")
        return Hit(
            id=data["id"],
            kind=data["kind"],
            title=data["title"],
            date=data.get("date"),
            story=data.get("story"),
            tags=data.get("tags", []),
            locations=data.get("locations", []),
            snippet=snippet,
            score=round(hit.score, 4) if isinstance(hit.score, float) else None,
        )

    def _highlight(self, hit: Any, field: str, text: str, results: Any) -> str:
        hl = results.highlighter
        hl.formatter = _MarkFormatter()
        hl.fragmenter = ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)
        try:
            return hit.highlights(field, text=text[:20000], top=2)
        except Exception:  # a snippet is decoration: never fail a search for it
            log.debug("highlight failed for %s", hit.get("id"), exc_info=True)
            return ""

    # --- documents ---------------------------------------------------------------------------

    def get(self, doc_id: str) -> dict[str, Any] | None:
        stored = self.searcher().document(id=doc_id)
        return stored_dict(stored) if stored else None

    def related(self, doc_id: str, filters: Filters, limit: int) -> list[Hit] | None:
        """The events most related to a document; None when there is no such document."""
        searcher = self.searcher()
        doc = self.get(doc_id)
        if doc is None:
            return None
        return _related.related(searcher, doc, self.config.related, limit, self._filter(filters))

    def health(self) -> dict[str, Any]:
        searcher = self.searcher()
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
            "last_run": runs.get("last_run"),
            "running": runs.get("running"),
            "next_run": runs.get("next_run"),
        }


def _generation(searcher: Any) -> int:
    return searcher.reader().generation()


def _dir_size(path: Path) -> int:
    total = 0
    try:
        for p in path.iterdir():
            if p.is_file():
                total += p.stat().st_size
    except OSError:
        pass
    return total


def _plain_words(text: str) -> int:
    """How many plain words the query has; 0 if it uses any query syntax."""
    if any(c in text for c in '"():*?~^[]{}'):
        return 0
    words = text.split()
    if any(w in ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE") for w in words):
        return 0
    return len(words)


def _check_balanced(text: str) -> None:
    if text.count('"') % 2:
        raise QueryError('unbalanced quote: close the " or remove it', "q")
    depth = 0
    in_quote = False
    for c in text:
        if c == '"':
            in_quote = not in_quote
        elif not in_quote and c == "(":
            depth += 1
        elif not in_quote and c == ")":
            depth -= 1
            if depth < 0:
                raise QueryError("unbalanced parenthesis: ')' without '('", "q")
    if depth:
        raise QueryError("unbalanced parenthesis: '(' without ')'", "q")


def _check_query(q: Any, max_terms: int) -> None:
    nodes = list(_walk(q))
    for node in nodes:
        error = getattr(node, "error", None)
        if error:
            raise QueryError(f"cannot parse the query: {error}", "q")
    leaves = [n for n in nodes if n.is_leaf()]
    if not leaves or all(isinstance(n, type(wq.NullQuery)) for n in leaves):
        raise QueryError(
            "the query has nothing to search for (only operators, stop words or punctuation)",
            "q",
        )
    if len(leaves) > max_terms:
        raise QueryError(f"the query has too many terms ({len(leaves)}; limit {max_terms})", "q")
    for node in leaves:
        text = getattr(node, "text", "")
        if isinstance(node, wq.Wildcard | wq.Prefix):
            stem = text.split("*")[0].split("?")[0] if isinstance(node, wq.Wildcard) else text
            if len(stem) < 2:
                raise QueryError(
                    f"'{text}': a wildcard needs at least 2 letters before * or ?", "q"
                )
        if isinstance(node, wq.FuzzyTerm):
            if len(text) < 3:
                raise QueryError(f"'{text}~': fuzzy search needs at least 3 letters", "q")
            if node.maxdist > 2:
                raise QueryError(f"'{text}~{node.maxdist}': fuzzy distance is at most 2", "q")


def _walk(q: Any) -> Any:
    yield q
    if not q.is_leaf():
        for child in q.children():
            yield from _walk(child)
