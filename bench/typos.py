"""The known-item queries of bench/quality.py misspelled, and the figures of typo
tolerance and recency that quality.py prints beside its own.

A typo'd query is a known-item query with one edit (a letter inserted, deleted or
replaced, or two neighbours swapped) in one of its words of 5 letters or more, drawn with
a fixed seed; queries without such a word are left out of both the typo'd and the clean
set, so the two MRRs are over the same queries.
"""

from __future__ import annotations

import dataclasses
import random
import string
from typing import Any

from searchsvc.config import Config
from searchsvc.index import SearchIndex
from searchsvc.query import SearchRequest

TYPO_SEED = 20261202
RECENCY_DAYS = (0, 3650, 365, 30)


def misspell(word: str, rng: random.Random) -> str:
    """The word with one random edit, never the word itself."""
    while True:
        i = rng.randrange(len(word))
        edit = rng.choice(("insert", "delete", "replace", "swap"))
        c = rng.choice(string.ascii_lowercase)
        if edit == "insert":
            out = word[:i] + c + word[i:]
        elif edit == "delete":
            out = word[:i] + word[i + 1 :]
        elif edit == "replace":
            out = word[:i] + c + word[i + 1 :]
        else:
            if i == len(word) - 1:
                continue
            out = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if out.lower() != word.lower():
            return out


def typo_queries(
    queries: list[tuple[str, str]], seed: int = TYPO_SEED
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(the clean queries kept, the same misspelled): one edit in one 5+ letter word."""
    rng = random.Random(seed)
    clean, typoed = [], []
    for q, target in queries:
        words = q.split()
        long = [k for k, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if not long:
            continue
        k = rng.choice(long)
        words[k] = misspell(words[k], rng)
        clean.append((q, target))
        typoed.append((" ".join(words), target))
    return clean, typoed


def figures(
    config: Config,
    queries: list[tuple[str, str]],
    mrr: Any,
) -> list[tuple[str, ...]]:
    """Rows for quality.py's table: MRR@10 and success@10 clean and typo'd, as before
    (spell=off, no synonyms: today's behaviour) and now; then clean MRR at a few recency
    half-lives."""
    clean, typoed = typo_queries(queries)
    before = SearchIndex(dataclasses.replace(config, search=_no_synonyms(config)))
    now = SearchIndex(config)

    def run(index: SearchIndex, qs: list[tuple[str, str]], **kw: Any) -> tuple[float, float]:
        ranked = []
        for q, _ in qs:
            try:
                ranked.append([h.id for h in index.search(SearchRequest(q=q, **kw)).hits])
            except Exception:
                ranked.append([])
        return mrr(ranked, [t for _, t in qs])

    rows = []
    b_clean, b_typo = run(before, clean, spell=False), run(before, typoed, spell=False)
    n_clean, n_typo = run(now, clean), run(now, typoed)
    n = len(clean)
    for label, b, a in (
        (f"clean MRR@10 ({n} queries)", b_clean[0], n_clean[0]),
        (f"typo'd MRR@10 ({n} queries)", b_typo[0], n_typo[0]),
        ("typo'd / clean MRR@10", b_typo[0] / b_clean[0], n_typo[0] / n_clean[0]),
        ("clean success@10", b_clean[1], n_clean[1]),
        ("typo'd success@10", b_typo[1], n_typo[1]),
    ):
        rows.append((label, f"{b:.3f}", f"{a:.3f}"))
    all_clean = [(q, t) for q, t in queries]
    for days in RECENCY_DAYS:
        m, s = run(now, all_clean, recency=days)
        rows.append(
            (
                f"recency {days or 'off'} days: MRR@10 / success@10 ({len(all_clean)})",
                "",
                f"{m:.3f} / {s:.3f}",
            )
        )
    return rows


def _no_synonyms(config: Config) -> Any:
    return dataclasses.replace(config.search, synonyms=None)
