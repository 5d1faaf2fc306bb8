"""Answers cached per index generation: what `/search`, `/suggest` and `/related` answered,
kept until the index changes.

A site's search box sends the same popular queries again and again (query logs are
Zipf-distributed), and the index changes only when a new generation is switched in: an
answer computed for one generation is the answer for every later identical request of
that generation. Solr's `queryResultCache` and Elasticsearch's request cache exist for
the same reason.

The key is the generation and the normalized request (`search_key` and friends): the
parameters as validated (so their order, and the defaults filled in or sent, do not
matter), repeated filter values in any order and any case (filters match labels
case-insensitively), and the query's runs of white space as one space. Operators are not
folded: the query syntax reads them in upper case only, so `a or b` (three words) and
`a OR b` ask different things.

An answer is never served for another generation than the one it was computed on: the
generation is part of the key, and once a newer one has been seen, answers of older ones
are dropped and no longer stored (a thread still on the older generation for a moment
computes its answers afresh). The cache holds at most `entries` answers, the least
recently used dropped first. Cached answers are shared: callers must not modify them.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from searchsvc.index.schema import label_key
from searchsvc.model import label
from searchsvc.query import Filters, SearchRequest, SearchResult

T = TypeVar("T")


class AnswerCache:
    """A bounded LRU map of (generation, request key) to answers; thread-safe."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[int, Hashable], Any] = OrderedDict()
        self._newest = -1  # the newest generation seen
        self.hits = 0
        self.misses = 0

    def get(
        self,
        generation: int,
        key: Hashable,
        compute: Callable[[], T],
        keep: Callable[[T], bool] | None = None,
    ) -> T:
        """The answer to `key` on `generation`: the cached one, or `compute()`'s (stored
        unless the cache is off, a newer generation has been seen, or `keep` says no)."""
        if self.entries <= 0:
            return compute()
        full = (generation, key)
        with self._lock:
            if full in self._answers:
                self._answers.move_to_end(full)
                self.hits += 1
                return self._answers[full]
            self.misses += 1
        answer = compute()  # outside the lock: a slow search holds up no other
        if keep is not None and not keep(answer):
            return answer
        with self._lock:
            if generation > self._newest:
                self._newest = generation
                self._answers.clear()  # all of older generations: never served again
            if generation == self._newest:
                self._answers[full] = answer
                while len(self._answers) > self.entries:
                    self._answers.popitem(last=False)
        return answer

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "hits": self.hits,
                "misses": self.misses,
                "size": len(self._answers),
                "max_entries": self.entries,
                "generation": self._newest,
            }


# Stand-ins for the two values of a search's JSON that are each request's own: no document
# can hold them (a new random part each process).
_NONCE = uuid.uuid4().hex
_QUERY, _TOOK = f"\ue000query-{_NONCE}", f"\ue000took-{_NONCE}"


@dataclasses.dataclass(frozen=True)
class SearchText:
    """A search's answer as JSON (UTF-8), and what the hooks of a request note of it."""

    text: bytes
    total: int
    took_ms: float
    partial: bool


@dataclasses.dataclass(frozen=True)
class CachedText:
    """A search's answer as cached for the HTTP layer: its JSON text, but for the query
    (as each request sends it) and the time (each request's)."""

    # The text before, between and after them, in UTF-8: as `str`, one curly quote made
    # a whole answer take two bytes a character (measured: 15 against 8 KB an answer).
    pieces: tuple[bytes, bytes, bytes]
    total: int
    partial: bool
    dumps: Callable[[Any], str]

    @classmethod
    def of(cls, result: SearchResult, dumps: Callable[[Any], str]) -> CachedText:
        data = result.to_dict()
        data["query"], data["took_ms"] = _QUERY, _TOOK
        head, rest = dumps(data).split(dumps(_QUERY))
        middle, tail = rest.split(dumps(_TOOK))
        pieces = (head.encode(), middle.encode(), tail.encode())
        return cls(pieces, result.total, result.partial, dumps)

    def answer(self, query: str, took_ms: float) -> SearchText:
        head, middle, tail = self.pieces
        text = b"".join(
            (head, self.dumps(query).encode(), middle, self.dumps(took_ms).encode(), tail)
        )
        return SearchText(text, self.total, took_ms, self.partial)


def filters_key(filters: Filters) -> Hashable:
    """Every field of the filters (a new one is in the key without a change here): label
    values in any order and case (filters match labels case-insensitively), kinds in any
    order."""
    parts: list[tuple[str, Hashable]] = []
    for f in dataclasses.fields(filters):
        value = getattr(filters, f.name)
        if f.name == "labels":
            value = tuple(
                sorted(
                    (name, tuple(sorted({label_key(v, label(name).multi) for v in values})))
                    for name, values in value.items()
                    if values
                )
            )
        elif f.name == "kinds":
            value = tuple(sorted(set(value)))
        elif not isinstance(value, Hashable):
            value = repr(value)
        parts.append((f.name, value))
    return tuple(parts)


def search_key(req: SearchRequest) -> Hashable:
    """Every field of the request (a field added to SearchRequest is in the key without
    a change here), the query's white space collapsed, the filters normalized."""
    parts: list[tuple[str, Hashable]] = []
    for f in dataclasses.fields(req):
        value = getattr(req, f.name)
        if f.name == "q":
            value = " ".join(value.split())
        elif isinstance(value, Filters):
            value = filters_key(value)
        elif not isinstance(value, Hashable):
            value = repr(value)
        parts.append((f.name, value))
    return ("search", tuple(parts))


def suggest_key(prefix: str, limit: int) -> Hashable:
    return ("suggest", prefix, limit)  # as typed: "mali " completes otherwise than "mali"


def related_key(doc_id: str, filters: Filters, limit: int) -> Hashable:
    return ("related", doc_id, filters_key(filters), limit)
