"""Every document's labels (tags, locations, day, kind, story) by document number.

Facets count them over a whole result set, and "related" compares candidates on them,
without opening stored documents. They are read from the index's own postings once per
segment, and a new generation reuses the tables of the segments it kept.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from dataclasses import dataclass
from itertools import chain
from typing import Any

from whoosh.reading import TermNotFound

from searchsvc.index.schema import TEXT_FIELDS, day_to_date, stored_dict

FACET_SIZE = 20
HOLDERS_CACHED = 20_000  # terms whose holders are kept (each under 5% of the documents)


@dataclass
class _Segment:
    tags: list[list[str]]
    locations: list[list[str]]
    days: list[int]
    kinds: list[str]
    stories: list[str]


def _read_segment(reader: Any) -> _Segment:
    n = reader.doc_count_all()
    fieldnames = set(reader.indexed_field_names())

    def multi(field: str) -> list[list[str]]:
        table: list[list[str]] = [[] for _ in range(n)]
        if field in fieldnames:
            for term in reader.lexicon(field):
                key = term.decode("utf-8")
                for d in reader.postings(field, term).all_ids():
                    table[d].append(key)
        return table

    def single(field: str) -> list[str]:
        table = [""] * n
        if field in fieldnames:
            for term in reader.lexicon(field):
                key = term.decode("utf-8")
                for d in reader.postings(field, term).all_ids():
                    table[d] = key
        return table

    def column(name: str) -> list[int]:
        if not reader.has_column(name):
            return [0] * n
        values = reader.column_reader(name)
        return [values[d] for d in range(n)]

    return _Segment(
        multi("tags"),
        multi("locations"),
        column("day"),
        single("kind"),
        single("story"),
    )


class Tables:
    """The labels of one index generation, as flat lists indexed by document number."""

    def __init__(self, searcher: Any, cache: dict[str, _Segment]) -> None:
        self.tags: list[list[str]] = []
        self.locations: list[list[str]] = []
        self.days: list[int] = []
        self.kinds: list[str] = []
        self.stories: list[str] = []
        self._names: dict[tuple[str, str], str] = {}
        self.dfs: dict[str, int] = {}  # document frequencies, for "related" key terms
        self._holders: dict[str, frozenset[int]] = {}
        for segreader, _offset in searcher.reader().leaf_readers():
            seg_id = segreader.segment().segment_id()
            if seg_id not in cache:
                cache[seg_id] = _read_segment(segreader)
            part = cache[seg_id]
            self.tags += part.tags
            self.locations += part.locations
            self.days += part.days
            self.kinds += part.kinds
            self.stories += part.stories
        dated = [d for d in self.days if d]
        # The first and last dates in the index: the bounds of open-ended date ranges.
        self.first_day = day_to_date(min(dated)) if dated else None
        self.last_day = day_to_date(max(dated)) if dated else None

    def facets(self, docnums: Any, searcher: Any) -> dict[str, list[dict[str, Any]]]:
        """Counts of tags, locations, years and kinds over these documents (`searcher`:
        the caller's, of this generation; searchers are not shared between threads)."""
        docnums = list(docnums)
        tags = Counter(chain.from_iterable(map(self.tags.__getitem__, docnums)))
        locations = Counter(chain.from_iterable(map(self.locations.__getitem__, docnums)))
        days = Counter(map(self.days.__getitem__, docnums))
        kinds = Counter(map(self.kinds.__getitem__, docnums))
        years: Counter[int] = Counter()
        for day, count in days.items():
            date = day_to_date(day)
            if date is not None:
                years[date.year] += count
        return {
            "tags": self._labelled(tags, "tags", searcher),
            "locations": self._labelled(locations, "locations", searcher),
            "year": [
                {"value": str(y), "count": c}
                for y, c in sorted(years.items(), key=lambda i: (-i[1], -i[0]))[:FACET_SIZE]
            ],
            "kind": [{"value": k, "count": c} for k, c in kinds.most_common() if k],
        }

    def _labelled(self, counts: Counter[str], facet: str, searcher: Any) -> list[dict[str, Any]]:
        top = sorted(counts.items(), key=lambda i: (-i[1], i[0]))[:FACET_SIZE]
        return [{"value": self.label(facet, key, searcher), "count": c} for key, c in top]

    def holders(self, term: str, searcher: Any) -> frozenset[int]:
        """The documents holding a text term in any text field. "Related" asks for the
        same distinctive terms again and again (a story's names and places); reading
        their postings was half its time."""
        found = self._holders.get(term)
        if found is None:
            ids: set[int] = set()
            for field in TEXT_FIELDS:
                with contextlib.suppress(TermNotFound):
                    ids.update(searcher.postings(field, term).all_ids())
            found = frozenset(ids)
            if len(self._holders) >= HOLDERS_CACHED:
                self._holders.clear()  # rare; a plain reset keeps the memory bounded
            self._holders[term] = found
        return found

    def label(self, facet: str, key: str, searcher: Any) -> str:
        """A key (lowercased in the index) as documents spell it: "Northern Mali conflict"."""
        name = self._names.get((facet, key))
        if name is None:
            name = key
            postings = searcher.postings(facet, key)
            if postings.is_active():
                stored = stored_dict(searcher.stored_fields(postings.id()))
                name = next((v for v in stored.get(facet, []) if v.lower() == key), key)
            self._names[(facet, key)] = name
        return name


class TableCache:
    """Tables by generation, sharing segment tables between generations; thread-safe.
    Two generations are kept: while a new one is prepared, requests use the previous."""

    KEPT = 2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._segments: dict[str, _Segment] = {}
        self._tables: dict[int, Tables] = {}
        self._live: dict[int, set[str]] = {}  # segment ids by kept generation

    def get(self, searcher: Any) -> Tables:
        gen = searcher.reader().generation()
        with self._lock:
            tables = self._tables.get(gen)
            if tables is not None:
                return tables
            segments = dict(self._segments)
        # Built outside the lock: requests on the previous generation need the lock for
        # their tables, and building a new generation's takes a few hundred milliseconds
        # (every request of the worker waited that long at each switch).
        built = Tables(searcher, segments)
        with self._lock:
            tables = self._tables.setdefault(gen, built)
            if tables is built:
                leaves = searcher.reader().leaf_readers()
                self._live[gen] = {r.segment().segment_id() for r, _ in leaves}
                for old in sorted(self._tables)[: -self.KEPT]:
                    del self._tables[old], self._live[old]
                live = set().union(*self._live.values())
                segments.update(self._segments)
                self._segments = {k: v for k, v in segments.items() if k in live}
            return tables
