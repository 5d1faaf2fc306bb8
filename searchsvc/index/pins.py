"""Editors' pins: for an exact query, these events first, in this order.

The pins file is TOML, a query and its events' ids a line:

    "election" = ["news/2024/05/29/explainer.md", "news/2024/06/01/results.md"]

A query is compared with case, accents and spacing aside ("Élection " is "election").
The file is read again when it changes (`watched.py`). Ids the index does not hold are
logged and shown in /stats, once per index generation; a search simply leaves them out.
"""

from __future__ import annotations

import logging
import threading
import tomllib
from dataclasses import dataclass, field
from typing import Any

from searchsvc.index.synonyms import normal_words

log = logging.getLogger(__name__)


def normal_query(text: str) -> str:
    return " ".join(normal_words(text))


@dataclass(frozen=True)
class Pins:
    by_query: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def ids(self, query: str) -> tuple[str, ...]:
        return self.by_query.get(normal_query(query), ()) if self.by_query else ()


def parse(text: str) -> Pins:
    """The pins of a file's text; ValueError saying what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML: {exc}") from None
    out: dict[str, tuple[str, ...]] = {}
    for query, ids in data.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError(f"{query!r}: give a list of event ids (strings)")
        key = normal_query(query)
        if not key:
            raise ValueError(f"{query!r}: a pinned query needs a word")
        out[key] = tuple(dict.fromkeys(out.get(key, ()) + tuple(ids)))
    return Pins(out)


class PinsReport:
    """The ids of the pins the index does not hold, checked once per pins and generation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked: tuple[Pins, int] | None = None
        self.unknown: list[str] = []

    def check(self, pins: Pins, searcher: Any) -> list[str]:
        generation = searcher.reader().generation()
        with self._lock:
            if self._checked and self._checked[0] is pins and self._checked[1] == generation:
                return self.unknown
        ids = {i for ids in pins.by_query.values() for i in ids}
        unknown = sorted(i for i in ids if searcher.document_number(id=i) is None)
        if unknown:
            log.warning("pins name %d ids the index does not hold: %s", len(unknown), unknown)
        with self._lock:
            self._checked, self.unknown = (pins, generation), unknown
        return unknown
