"""Running a compiled query: its match set and scores, and the page of it by relevance.

Scores are made in arrays where they can be (scoring.py: terms, phrases, AND, OR, NOT);
prefixes and fuzzy terms are scored by Whoosh's matchers, collected within the match set
and a deadline.
The top `RESCORE_WINDOW` are then re-ranked: phrase and exact-form bonuses, the weight of
source texts, and a stable order among equal scores.
"""

from __future__ import annotations

import re
import time
from typing import Any

import numpy as np
from whoosh.collectors import TimeLimit, TopCollector, WrappingCollector

from searchsvc.config import SearchConfig
from searchsvc.index.compile import OPERATORS, _plain_words
from searchsvc.index.matching import evaluate, scoring_query
from searchsvc.index.schema import TEXT_ANALYZER
from searchsvc.index.scoring import Scored
from searchsvc.index.scoring import top as top_scores
from searchsvc.index.tables import KINDS, TableCache, Tables

RESCORE_WINDOW = 50
EXACT_WINDOW = 20  # top hits whose stored text is read for exact word forms


class _Top(TopCollector):
    """Whoosh's top-N collector with its block-quality skipping, over the documents of a
    match set only. Scores are rounded, so that a sum added up in another order (Whoosh
    rewrites a union while it collects) cannot reorder equal documents between two pages.
    Among equal scores the lower document number comes first, for any N: each page is a
    slice of one order."""

    def __init__(self, limit: int, allowed: np.ndarray, decay: np.ndarray | None = None) -> None:
        # Block-quality skipping assumes the matcher's scores: not with a recency decay.
        super().__init__(limit=limit, usequality=decay is None)
        self.allowed = allowed
        self.decay = decay

    def collect(self, sub_docnum: int) -> Any:
        docnum = self.offset + sub_docnum
        if self.allowed[docnum]:
            score = self.matcher.score()
            if self.decay is not None:
                score *= float(self.decay[docnum])
            return self._collect(docnum, round(score, 6))
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


def match(
    searcher: Any, tables: Tables, q: Any, allowed: np.ndarray | None
) -> tuple[Scored, np.ndarray]:
    """The query's documents and scores (matching.py), and the documents it and the
    filters match, as a mask."""
    scored = evaluate(searcher, tables, q)
    return scored, _within(scored.mask(tables.size), allowed)


def by_relevance(
    searcher: Any,
    tables: Tables,
    q: Any,
    scores: Scored,
    leaves: list[Any],
    found: np.ndarray,
    start: int,
    stop: int,
    text: str,
    cfg: SearchConfig,
    table_cache: TableCache,
    decay: np.ndarray | None = None,
) -> tuple[list[tuple[float | None, int]], bool]:
    """Positions start to stop of the match set by relevance: the documents the
    query's words score, best first (the first RESCORE_WINDOW re-ranked), then those
    no word scores (matched by NOT, a date range or an OR branch of dates only),
    newest first. `decay`: each document's recency factor, multiplying its score."""
    ranked: list[tuple[float, int]] = []
    scored = np.zeros_like(found)
    partial = False
    limit = max(stop, RESCORE_WINDOW)
    if scores.exact and leaves:  # scored in arrays, as Whoosh would (matching.py)
        scored = found
        if decay is not None:
            scores = Scored(scores.ids, scores.scores * decay[scores.ids], scores.exact)
        ranked = top_scores(scores, scored, limit)
    elif (scoring := scoring_query(q) if leaves else None) is not None:
        # Prefixes, wildcards, fuzzy terms: Whoosh's matchers score them.
        scored = found & evaluate(searcher, tables, scoring).mask(tables.size)
        collector = _Top(limit, scored, decay)
        try:
            searcher.search_with_collector(scoring, _Deadline(collector, cfg.time_limit))
        except TimeLimit:
            partial = True
        ranked = collector.ranked()
    ranked[:RESCORE_WINDOW] = rescore(searcher, table_cache, ranked[:RESCORE_WINDOW], text, cfg)
    page: list[tuple[float | None, int]] = list(ranked[start:stop])
    n_scored = int(np.count_nonzero(scored))
    if stop > n_scored and not partial:
        rest = found & ~scored
        page += [
            (None, d)
            for d in tables.ordered(rest, "-date", max(0, start - n_scored), stop - n_scored)
        ]
    return page, partial


def rescore(
    searcher: Any,
    table_cache: TableCache,
    top: list[tuple[float, int]],
    text: str,
    cfg: SearchConfig,
) -> list[tuple[float, int]]:
    """The top of the ranking re-ranked: the query's words as a phrase in the title or
    summary multiply the score by 1 + phrase_boost; the query's words as typed (not
    only as stems) in the title or summary, by 1 + exact_boost x their share; a source
    text's score is multiplied by source_weight (events are what readers look for);
    among equal scores the newer document comes first, then the lower number."""
    if not top:
        return top
    tables = table_cache.get(searcher)
    # Read from each hit's title and summary (kept per generation): reading the
    # positions of common words' postings at fifty documents was half a search's time
    # at archive size.
    heads = {d: tables.head(searcher, d) for _, d in top}
    words = [t.text for t in TEXT_ANALYZER(text)] if _plain_words(text) > 1 else []
    if len(words) > 1 and cfg.phrase_boost:
        with_phrase = {
            d for d, head in heads.items() if any(_holds(head.terms(k), words) for k in (0, 1))
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


def _within(found: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    return found if allowed is None else found & allowed


def _holds(terms: tuple[str, ...], words: list[str]) -> bool:
    """Whether the analysed text holds the (analysed) words as a phrase: consecutive
    among the words the analyzer keeps, as Whoosh's phrase query matches them."""
    n = len(words)
    seq = tuple(words)
    return any(terms[i : i + n] == seq for i in range(len(terms) - n + 1))


def _surface_words(text: str) -> list[str]:
    """The query's words as typed (lowercased), leaving out operators, field:value
    terms, wildcards and fuzzy terms, and stop words."""
    words = []
    for token in text.replace('"', " ").replace("(", " ").replace(")", " ").split():
        if token in OPERATORS or any(c in token for c in ":*?~^[]{}"):
            continue
        for word in re.findall(r"\w+", token.lower()):
            if any(True for _ in TEXT_ANALYZER(word)):
                words.append(word)
    return list(dict.fromkeys(words))
