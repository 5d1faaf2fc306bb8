"""A page of a result made of parts, one after the other; grouping by story; recency.

A search's ranking may be made of parts ranked each on its own, in a fixed order:
the editors' pins for the query, the documents the query matches as typed, then those
only its spelling correction matches (`searching.py`). A part is a set of documents
(disjoint from the others) and a way to give its positions start to stop; a page takes
from each part in turn. Each part's order is one order for any page (ranking.py), so
pages are slices of one whole order, as before.

Grouping (`collapse=story`) shows one document per story, the first of the story in that
order; documents of no story (and source texts) are groups of their own. Groups are
found in a growing prefix of the order, until the page is full or the order ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import numpy as np

from searchsvc.index.tables import KINDS, Tables
from searchsvc.model import LABELS
from searchsvc.query import SearchRequest

Ranked = list[tuple[float | None, int]]  # (score or None, document number)


@dataclass
class Part:
    """Documents of a result ranked on their own: `mask` which, `rank(start, stop)` their
    positions start to stop; `partial`: the ranking was cut by the time limit."""

    mask: np.ndarray
    rank: Callable[[int, int], tuple[Ranked, bool]]

    @property
    def size(self) -> int:
        return int(np.count_nonzero(self.mask))


def fixed(mask_size: int, docs: list[int]) -> Part:
    """A part in a given order (pins)."""
    mask = np.zeros(mask_size, dtype=bool)
    mask[docs] = True
    return Part(mask, lambda start, stop: ([(None, d) for d in docs[start:stop]], False))


def dated(tables: Tables, found: np.ndarray, sort: str) -> Part:
    """These documents in a date order (`sort`: "date" or "-date")."""
    return Part(
        found,
        lambda start, stop: ([(None, d) for d in tables.ordered(found, sort, start, stop)], False),
    )


def page_of(parts: list[Part], start: int, stop: int) -> tuple[Ranked, bool]:
    """Positions start to stop of the parts one after the other."""
    out: Ranked = []
    partial = False
    offset = 0
    for part in parts:
        size = part.size
        lo, hi = max(start - offset, 0), min(stop - offset, size)
        if lo < hi:
            got, cut = part.rank(lo, hi)
            out += got
            partial |= cut
        offset += size
        if offset >= stop:
            break
    return out, partial


# --- by story --------------------------------------------------------------------------------


def story_codes(tables: Tables) -> np.ndarray:
    """Each document's story (an index into the story keys), -1 when it has none or is
    not an event: only events of a story are grouped."""
    labels = tables.labels["story"]
    starts = labels.starts
    codes = np.full(tables.size, -1, dtype=np.int64)
    has = np.flatnonzero(starts[1:] > starts[:-1])
    codes[has] = labels.values[starts[has]]
    codes[tables.kinds != KINDS.index("event")] = -1
    return codes


@dataclass
class Groups:
    """The groups of a result: how many, and how many documents each story holds."""

    total: int
    per_story: np.ndarray  # documents of the result in each story


def groups(tables: Tables, codes: np.ndarray, found: np.ndarray) -> Groups:
    held = codes[found]
    storied = held[held >= 0]
    per_story = np.bincount(storied, minlength=len(tables.labels["story"].keys))
    alone = len(held) - len(storied)
    return Groups(alone + int(np.count_nonzero(per_story)), per_story)


def collapsed_page(
    order: Callable[[int, int], tuple[Ranked, bool]],
    size: int,
    codes: np.ndarray,
    start: int,
    stop: int,
) -> tuple[Ranked, bool]:
    """Groups start to stop of an order of `size` documents: the first document of each
    story, and each document of no story."""
    window = max(2 * stop, 50)
    while True:
        ranked, partial = order(0, min(window, size))
        firsts: Ranked = []
        seen: set[int] = set()
        for score, d in ranked:
            code = int(codes[d])
            if code >= 0:
                if code in seen:
                    continue
                seen.add(code)
            firsts.append((score, d))
        if len(firsts) >= stop or window >= size or partial:
            return firsts[start:stop], partial
        window *= 4


# --- recency ---------------------------------------------------------------------------------


RECENCY_FLOOR = 0.001  # about ten half-lives


def recency(tables: Tables, half_life_days: int) -> np.ndarray:
    """Each document's recency factor: 0.5 ** (age / half-life), its age in days before
    the newest document's day, and at least RECENCY_FLOOR: scores are compared rounded to
    six decimals, and older documents would all tie at 0, whatever their relevance. An
    undated document is taken to be as old as the oldest (unknown age is no reason to
    come first)."""
    days = tables.days
    dated = days > 0
    if not dated.any():
        return np.ones(tables.size)
    newest, oldest = int(days.max()), int(days[dated].min())
    age = np.where(dated, newest - days.astype(np.float64), float(newest - oldest))
    return np.maximum(np.power(0.5, age / float(half_life_days)), RECENCY_FLOOR)


def see_all(req: SearchRequest, story: str) -> str:
    """The query string of this search without collapsing, within one story."""
    f = req.filters
    pairs = [("q", req.q)] if req.q else []
    pairs += [
        (lb.param, v) for lb in LABELS for v in f.labels.get(lb.name, ()) if lb.name != "story"
    ]
    pairs += [("story", story)] + [("kind", k) for k in f.kinds]
    pairs += [("from", f.date_from.isoformat())] if f.date_from else []
    pairs += [("to", f.date_to.isoformat())] if f.date_to else []
    if req.sort != "relevance":
        pairs.append(("sort", req.sort))
    return urlencode(pairs)
