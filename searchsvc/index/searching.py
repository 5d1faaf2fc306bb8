"""Answering searches over the index: queries, filters, ranking, facets, snippets.

`SearchIndex` is safe to share between threads: each thread gets its own Whoosh searcher,
and moves to the newest committed generation at most `REFRESH_SECONDS` after a commit.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
import threading
import time
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.collectors import TimeLimit, TopCollector, WrappingCollector
from whoosh.qparser import AndGroup, FuzzyTermPlugin, MultifieldParser, OrGroup

from searchsvc.config import Config
from searchsvc.index import related as _related
from searchsvc.index import state
from searchsvc.index.matching import Matcher, positive_leaves, scoring_query
from searchsvc.index.schema import TEXT_ANALYZER, TEXT_FIELDS, make_schema, stored_dict
from searchsvc.index.scoring import Scored, query_scores
from searchsvc.index.scoring import top as top_scores
from searchsvc.index.snippets import highlight
from searchsvc.index.tables import KINDS, TableCache
from searchsvc.index.verify import check_checksums, verify
from searchsvc.index.vocabulary import VocabularyCache
from searchsvc.query import (
    Filters,
    Hit,
    QueryError,
    SearchRequest,
    SearchResult,
    lead_snippet,
)

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.5
SNIPPET_SCAN_CHARS = 3000
RESCORE_WINDOW = 50
DID_YOU_MEAN_BELOW = 3  # a query with fewer hits gets a spelling suggestion
EXACT_WINDOW = 20  # top hits whose stored text is read for exact word forms


class _Top(TopCollector):
    """Whoosh's top-N collector with its block-quality skipping, over the documents of a
    match set only. Scores are rounded, so that a sum added up in another order (Whoosh
    rewrites a union while it collects) cannot reorder equal documents between two pages.
    Among equal scores the lower document number comes first, for any N: each page is a
    slice of one order."""

    def __init__(self, limit: int, allowed: np.ndarray) -> None:
        super().__init__(limit=limit, usequality=True)
        self.allowed = allowed

    def collect(self, sub_docnum: int) -> Any:
        docnum = self.offset + sub_docnum
        if self.allowed[docnum]:
            return self._collect(docnum, round(self.matcher.score(), 6))
        return None

    def ranked(self) -> list[tuple[float, int]]:
        return [(score, -neg) for score, neg in sorted(self.items, reverse=True)]


class _Deadline(WrappingCollector):
    """Raises TimeLimit when collecting runs past `seconds`, checked at the first match
    and every 256 after (Whoosh's TimeLimitCollector starts a timer thread per search)."""

    def __init__(self, child: Any, seconds: float) -> None:
        super().__init__(child)
        self.seconds = seconds
        self.deadline = 0.0

    def prepare(self, top_searcher: Any, q: Any, context: Any) -> None:
        self.child.prepare(top_searcher, q, context)
        self.deadline = time.monotonic() + self.seconds

    def collect_matches(self) -> None:
        child = self.child
        for n, sub_docnum in enumerate(child.matches(), 1):
            child.collect(sub_docnum)
            if (n == 1 or not n & 255) and time.monotonic() > self.deadline:
                raise TimeLimit


class IndexUnavailable(RuntimeError):
    """There is no usable index (missing, unreadable, or being created)."""


class SearchIndex:
    """The search side of the index, for the web app and the command line."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.index_dir: Path = config.index.dir
        self._local = threading.local()
        self._lock = threading.Lock()
        self._ix: Any = None
        self._ready_generation = -1  # the newest generation prepared to serve
        self._preparing: threading.Thread | None = None
        self.tables = TableCache()
        self._checked: set[str] = set()  # segment files whose checksums were checked
        self.vocabulary = VocabularyCache(self.index_dir)
        s = config.search
        self._parsers: dict[str, Any] = {}
        self._boosts = {
            "title": s.title_boost,
            "summary": s.summary_boost,
            "body": s.body_boost,
        }

    # --- opening and refreshing ----------------------------------------------------------

    def _index(self) -> Any:
        with self._lock:
            if self._ix is None:
                # Reasons for clients name no path: the details go to the log.
                try:
                    if not whoosh_index.exists_in(str(self.index_dir)):
                        raise IndexUnavailable("no index yet: run `searchsvc index` to build it")
                    ix = whoosh_index.open_dir(str(self.index_dir))
                except IndexUnavailable:
                    raise
                except Exception as exc:
                    log.error("cannot open the index at %s: %s", self.index_dir, exc)
                    raise IndexUnavailable(
                        "the index cannot be opened; see the server log"
                    ) from None
                problem = verify(ix) or check_checksums(self.index_dir, ix, self._checked)
                if problem:
                    log.error("the index at %s is damaged: %s", self.index_dir, problem)
                    raise IndexUnavailable(
                        "the index is damaged: rebuild it with `searchsvc index --full`"
                    )
                self._ix = ix
            return self._ix

    def searcher(self) -> Any:
        """This thread's searcher, moved to the newest generation when one was committed."""
        local = self._local
        s = getattr(local, "searcher", None)
        now = time.monotonic()
        if s is not None and now - local.checked < REFRESH_SECONDS:
            return s
        try:
            if s is None:
                s = self._index().searcher()
            elif not s.up_to_date() and self._prepared(s):
                s = s.refresh()
                problem = check_checksums(self.index_dir, s._ix, self._checked)
                if problem:
                    log.error("the index at %s is damaged: %s", self.index_dir, problem)
                    with self._lock:
                        self._ix = None  # reopened (and checked again) on the next request
                    raise IndexUnavailable(
                        "the index is damaged: rebuild it with `searchsvc index --full`"
                    )
        except IndexUnavailable:
            local.searcher = None
            raise
        except Exception as exc:
            local.searcher = None
            with self._lock:
                self._ix = None
            log.error("cannot read the index at %s: %s", self.index_dir, exc)
            raise IndexUnavailable("the index cannot be read (is its directory there?)") from None
        # The time of the last check, not of the last use: a busy thread checks too.
        local.searcher, local.checked = s, now
        return s

    def _prepared(self, s: Any) -> bool:
        """Whether the newest generation is ready to serve: its segments checked and this
        process's tables of it built. If not, a thread prepares it and, meanwhile, requests
        keep the generation they have: building the tables on the request path stalled
        every worker for a second or more at each switch (bench/load_bench.py)."""
        latest = s._ix.latest_generation()
        with self._lock:
            if self._ready_generation >= latest:
                return True
            if self._preparing is None or not self._preparing.is_alive():
                self._preparing = threading.Thread(
                    target=self._prepare, args=(latest,), daemon=True
                )
                self._preparing.start()
        return False

    def _prepare(self, latest: int) -> None:
        gen = latest
        try:
            ix = self._index()
            with ix.searcher() as searcher:
                gen = searcher.reader().generation()
                # A damage found here is reported by the request that switches.
                if not check_checksums(self.index_dir, ix, self._checked):
                    self._build_caches(searcher)
        except Exception as exc:  # the switching request reports what is wrong
            log.warning("could not prepare the new index generation: %s", exc)
        with self._lock:
            self._ready_generation = max(self._ready_generation, gen)

    # --- queries -----------------------------------------------------------------------------

    def compile(self, text: str, group: str = "and") -> Any:
        """The user's query (Whoosh syntax) as a Whoosh query, or QueryError saying why not."""
        _check_balanced(text)
        try:
            q = self._plain_query(text, group) if _is_plain(text) else self._parse(text, group)
        except Exception as exc:  # Whoosh's parser is lenient; anything else is our 400
            raise QueryError(f"cannot parse the query: {exc}", "q") from None
        _check_query(q, self.config.search.max_terms)
        # A fuzzy term must keep its first letter: Whoosh would otherwise compare it with
        # every word of the index (half a second for one term).
        return q.accept(
            lambda node: (
                wq.FuzzyTerm(
                    node.fieldname,
                    node.text,
                    boost=node.boost,
                    maxdist=node.maxdist,
                    prefixlength=1,
                )
                if isinstance(node, wq.FuzzyTerm)
                else node
            )
        )

    def _parse(self, text: str, group: str) -> Any:
        """The query by Whoosh's parser (one per group, made on first use)."""
        parser = self._parsers.get(group)
        if parser is None:
            parser = MultifieldParser(
                list(TEXT_FIELDS),
                make_schema(),
                fieldboosts=self._boosts,
                group=OrGroup if group == "or" else AndGroup,
            )
            parser.add_plugin(FuzzyTermPlugin())
            self._parsers[group] = parser
        return parser.parse(text)

    def _plain_query(self, text: str, group: str) -> Any:
        """What Whoosh's MultifieldParser makes of plain words, without running it (a
        tenth of a search's time): each word in any text field, all words (or any)."""
        join = wq.Or if group == "or" else wq.And
        clauses = []
        for word in text.split():
            terms = [t.text for t in TEXT_ANALYZER(word)]
            if not terms:
                continue
            fields = []
            for f in TEXT_FIELDS:
                boost = self._boosts.get(f, 1.0)
                if len(terms) == 1:
                    fields.append(wq.Term(f, terms[0], boost=boost))
                else:
                    fields.append(join([wq.Term(f, t, boost=boost) for t in terms]))
            clauses.append(wq.Or(fields))
        # normalize() as the parser does: it folds repeated terms and single-child groups.
        return join(clauses).normalize()

    def _matcher(self, searcher: Any) -> Matcher:
        """The match sets of the searcher's generation."""
        return Matcher(self.tables.get(searcher))

    def search(self, req: SearchRequest) -> SearchResult:
        t0 = time.perf_counter()
        searcher = self.searcher()
        matcher = self._matcher(searcher)
        tables = matcher.tables
        allowed = matcher.filters(searcher, req.filters)
        start, stop = (req.page - 1) * req.per_page, req.page * req.per_page
        partial = False
        terms: dict[str, set[str]] = {}
        if req.q:
            q = self.compile(req.q)
            _check_expansions(q, searcher.reader(), self.config.search.max_expansions)
            scored, found = self._match(searcher, matcher, q, allowed)
            if not found.any() and _plain_words(req.q) > 1:
                q = self.compile(req.q, "or")
                scored, found = self._match(searcher, matcher, q, allowed)
            leaves = positive_leaves(q)
            terms = _terms_by_field(leaves, searcher.reader())
            if req.sort == "relevance":
                page, partial = self._ranked(
                    searcher, matcher, q, scored, leaves, found, start, stop, req.q
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
            took_ms=(time.perf_counter() - t0) * 1000,
            hits=hits,
            facets=tables.facets(found, searcher),
            partial=partial,
        )

    @staticmethod
    def _match(
        searcher: Any, matcher: Matcher, q: Any, allowed: np.ndarray | None
    ) -> tuple[Scored | None, np.ndarray]:
        """The query's scores where they are made in arrays (scoring.py: they carry the
        match set), and the documents it and the filters match."""
        scored = query_scores(searcher, matcher.tables, q)
        if scored is None:
            return None, _within(matcher.query(searcher, q), allowed)
        found = np.zeros(matcher.tables.size, dtype=bool)
        found[scored.ids] = True
        return scored, _within(found, allowed)

    def _ranked(
        self,
        searcher: Any,
        matcher: Matcher,
        q: Any,
        scores: Scored | None,
        leaves: list[Any],
        found: np.ndarray,
        start: int,
        stop: int,
        text: str,
    ) -> tuple[list[tuple[float | None, int]], bool]:
        """Positions start to stop of the match set by relevance: the documents the
        query's words score, best first (the first RESCORE_WINDOW re-ranked), then those
        no word scores (matched by NOT, a date range or an OR branch of dates only),
        newest first."""
        ranked: list[tuple[float, int]] = []
        scored = np.zeros_like(found)
        partial = False
        limit = max(stop, RESCORE_WINDOW)
        if scores is not None and leaves:  # scored in arrays (scoring.py)
            scored = found
            ranked = top_scores(scores, scored, limit)
        elif (scoring := scoring_query(q) if leaves else None) is not None:
            # Phrases, prefixes, fuzzy terms: Whoosh's matchers score them.
            scored = found & matcher.query(searcher, scoring)
            collector = _Top(limit, scored)
            try:
                searcher.search_with_collector(
                    scoring, _Deadline(collector, self.config.search.time_limit)
                )
            except TimeLimit:
                partial = True
            ranked = collector.ranked()
        ranked[:RESCORE_WINDOW] = self._rescore(searcher, ranked[:RESCORE_WINDOW], text)
        page: list[tuple[float | None, int]] = list(ranked[start:stop])
        n_scored = int(np.count_nonzero(scored))
        if stop > n_scored and not partial:
            rest = found & ~scored
            tables = matcher.tables
            page += [
                (None, d)
                for d in tables.ordered(rest, "-date", max(0, start - n_scored), stop - n_scored)
            ]
        return page, partial

    def _rescore(
        self, searcher: Any, top: list[tuple[float, int]], text: str
    ) -> list[tuple[float, int]]:
        """The top of the ranking re-ranked: the query's words as a phrase in the title or
        summary multiply the score by 1 + phrase_boost; the query's words as typed (not
        only as stems) in the title or summary, by 1 + exact_boost x their share; a source
        text's score is multiplied by source_weight (events are what readers look for);
        among equal scores the newer document comes first, then the lower number."""
        if not top:
            return top
        cfg = self.config.search
        tables = self.tables.get(searcher)
        # Read from each hit's title and summary (kept per generation): reading the
        # positions of common words' postings at fifty documents was half a search's time
        # at archive size.
        heads = {d: tables.head(searcher, d) for _, d in top}
        words = [t.text for t in TEXT_ANALYZER(text)] if _plain_words(text) > 1 else []
        if len(words) > 1 and cfg.phrase_boost:
            with_phrase = {
                d for d, head in heads.items() if any(_holds(t, words) for t in head.terms)
            }
            top = [(s * (1 + cfg.phrase_boost) if d in with_phrase else s, d) for s, d in top]
        if cfg.source_weight != 1.0:
            source = KINDS.index("source")
            top = [(s * cfg.source_weight if tables.kinds[d] == source else s, d) for s, d in top]
        surface = _surface_words(text)
        if cfg.exact_boost and surface:
            # Words as typed, not only their stems: "floods" matches "floods" better
            # than "flooding".
            patterns = [re.compile(r"\b" + re.escape(w) + r"\b") for w in surface]
            for k, (score, d) in enumerate(top[:EXACT_WINDOW]):
                hay = "\n".join(heads[d].texts).lower()
                share = sum(1 for p in patterns if p.search(hay)) / len(patterns)
                top[k] = (score * (1 + cfg.exact_boost * share), d)
        days = tables.days
        return sorted(top, key=lambda sd: (-round(sd[0], 6), -int(days[sd[1]]), sd[1]))

    def _hit(self, stored: dict[str, Any], score: float | None, terms: dict[str, set[str]]) -> Hit:
        data = stored_dict(stored)
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

    def warm(self) -> None:
        """Build this process's caches (tables, vocabulary) before the first request
        needs them; a missing index is not an error here."""
        with contextlib.suppress(IndexUnavailable):
            self._build_caches(self.searcher())

    def _build_caches(self, searcher: Any) -> None:
        """This process's tables and vocabulary of the searcher's generation. They live as
        long as the generation, so they are moved out of the cyclic garbage collector's
        sight: its full passes over them (every few seconds under load) paused the worker
        for 50-100 ms each. They hold no reference cycles, so they are still freed when
        their generation is dropped."""
        self.tables.get(searcher)
        self.vocabulary.build(searcher)
        gc.freeze()

    def suggest(self, prefix: str, limit: int) -> list[dict[str, Any]]:
        """Completions for a search box: tags, stories, locations and title words that
        start with the prefix (or have a word that does), the most frequent first."""
        return self.vocabulary.get(self.searcher()).suggest(prefix, limit)

    def related(self, doc_id: str, filters: Filters, limit: int) -> list[Hit] | None:
        """The events most related to a document; None when there is no such document."""
        searcher = self.searcher()
        stored = searcher.document(id=doc_id)
        if stored is None:
            return None
        matcher = self._matcher(searcher)
        allowed = matcher.filters(searcher, filters)
        return _related.related(
            searcher, matcher.tables, stored_dict(stored), self.config.related, limit, allowed
        )

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
        }


def _holds(terms: tuple[str, ...], words: list[str]) -> bool:
    """Whether the analysed text holds the (analysed) words as a phrase: consecutive
    among the words the analyzer keeps, as Whoosh's phrase query matches them."""
    n = len(words)
    seq = tuple(words)
    return any(terms[i : i + n] == seq for i in range(len(terms) - n + 1))


def _within(found: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    return found if allowed is None else found & allowed


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


_OPERATORS = frozenset(("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"))


def _surface_words(text: str) -> list[str]:
    """The query's words as typed (lowercased), leaving out operators, field:value
    terms, wildcards and fuzzy terms, and stop words."""
    words = []
    for token in text.replace('"', " ").replace("(", " ").replace(")", " ").split():
        if token in _OPERATORS or any(c in token for c in ":*?~^[]{}"):
            continue
        for word in re.findall(r"\w+", token.lower()):
            if any(True for _ in TEXT_ANALYZER(word)):
                words.append(word)
    return list(dict.fromkeys(words))


def _is_plain(text: str) -> bool:
    """Words only: no quotes, brackets, operators, fields, wildcards or boosts."""
    return bool(text.split()) and _plain_words(text) > 0 and "'" not in text and "=" not in text


def _plain_words(text: str) -> int:
    """How many plain words the query has; 0 if it uses any query syntax."""
    if any(c in text for c in '"():*?~^[]{}'):
        return 0
    words = text.split()
    if any(w in ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE") for w in words):
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
        if isinstance(node, wq.Every) and node.fieldname:
            raise QueryError(
                f"'{node.fieldname}:*' matches everything: leave q empty to browse", "q"
            )
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


def _check_expansions(q: Any, reader: Any, limit: int) -> None:
    """A prefix or wildcard that matches more than `limit` words is refused: it would be
    a union of thousands of terms, seconds of work for one query."""
    for node in _walk(q):
        if isinstance(node, wq.Prefix | wq.Wildcard):
            count = sum(1 for _ in islice(node._btexts(reader), limit + 1))
            if count > limit:
                shown = node.text + ("*" if isinstance(node, wq.Prefix) else "")
                raise QueryError(
                    f"'{shown}' matches too many words (more than {limit}): type more of the word",
                    "q",
                )


def _walk(q: Any) -> Any:
    yield q
    if not q.is_leaf():
        for child in q.children():
            yield from _walk(child)
