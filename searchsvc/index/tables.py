"""Every document's labels (all of `model.LABELS`: the faceted ones, and the story that
groups a result by story), day, kind and its place in the date orders, by global document
number, in compact arrays.

Facets count over a whole result set, date sorts take a page, date filters select days,
and "related" compares candidates, all without opening a stored document. The arrays are
read from the index's own postings once per segment (`segments.py`: a new generation
reuses those of the segments it kept) and joined per generation: a few megabytes at
archive size, where lists of Python strings took hundreds.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from searchsvc.index.geo import PlaceTable
from searchsvc.index.schema import TEXT_FIELDS, label_key, stored_hit
from searchsvc.index.segments import (
    KINDS,
    SCORED_FIELDS,
    Head,
    Postings,
    Segment,
    SizedLRU,
    join_labels,
    postings_lru,
    read_segment,
)
from searchsvc.index.timeline import histogram, period_codes
from searchsvc.model import LABELS, Label

FACET_SIZE = 20
HOLDERS_CACHED = 2_000_000  # document numbers kept in the cache of term holders (4 bytes each)
PHRASES_CACHED = 500_000  # document numbers kept in the cache of phrases (8 bytes each)
EPOCH = dt.date(1970, 1, 1).toordinal()  # day 0 of numpy's datetime64
UNDATED = np.iinfo(np.int32).max  # sorts after every day, in both date orders
FACETED = tuple(lb for lb in LABELS if lb.facet)
# A label value's display form, from its key; None: no opinion (tables.py: facets).
Spelling = Callable[[Label, str], str | None]


class Tables:
    """The labels of one index generation, by global document number."""

    def __init__(self, searcher: Any, cache: dict[str, Segment]) -> None:
        reader = searcher.reader()
        parts, offsets = [], []
        for segreader, offset in reader.leaf_readers():
            seg_id = segreader.segment().segment_id()
            if seg_id not in cache:
                cache[seg_id] = read_segment(segreader)
            parts.append(cache[seg_id])
            offsets.append(offset)
        self._parts, self._offsets = parts, offsets
        n = reader.doc_count_all()
        self.size = n
        self.live = np.ones(n, dtype=bool)
        for segreader, offset in reader.leaf_readers():
            deleted = list(segreader.segment().deleted_docs())
            if deleted:
                self.live[np.asarray(deleted, dtype=np.int64) + offset] = False
        self.labels = {lb.name: join_labels([p.labels[lb.name] for p in parts]) for lb in LABELS}
        cat = (lambda a: np.concatenate(a)) if parts else (lambda a: np.zeros(0, np.int32))
        self.days = cat([p.days for p in parts]).astype(np.int32)
        self.kinds = cat([p.kinds for p in parts]).astype(np.int8)
        self.lengths = {
            field: cat([p.lengths[field] for p in parts]).astype(np.float64)
            for field in SCORED_FIELDS
        }
        self.places = PlaceTable.from_labels(join_labels([p.places for p in parts]), n)
        self.periods = period_codes(self.days)
        self.years = np.zeros(n, dtype=np.int16)
        dated = np.flatnonzero(self.days)
        since_1970 = (self.days[dated].astype(np.int64) - EPOCH).astype("datetime64[D]")
        self.years[dated] = since_1970.astype("datetime64[Y]").astype(np.int64) + 1970
        self._orders = self._date_orders(parts, offsets)
        self._names: dict[tuple[str, str], str] = {}
        self.dfs: dict[str, int] = {}  # document frequencies, for "related" key terms
        # The generation's live postings (segments joined); the documents holding a text
        # term in any field; the documents holding a phrase: each most recently used first.
        self._terms = postings_lru()
        self._holders: SizedLRU[str, np.ndarray] = SizedLRU(HOLDERS_CACHED, len)
        self._phrases: SizedLRU[tuple[str, tuple[str, ...]], np.ndarray] = SizedLRU(
            PHRASES_CACHED, len
        )

    def _date_orders(self, parts: list[Segment], offsets: list[int]) -> dict[str, np.ndarray]:
        """Every document in the order of sort=-date and of sort=date: by day (undated
        last in both), then by id."""
        # In arrays: a merge of the segments' sorted ids in Python was most of the time a
        # new generation's tables took (at each live edit, in every worker).
        id_rank = np.zeros(self.size, dtype=np.int64)
        if parts:
            ids = np.concatenate([p.ids for p in parts])
            docs = np.concatenate([p.id_docs + off for p, off in zip(parts, offsets, strict=True)])
            # Stable: equal ids (an old and a new version) in document order, as before.
            id_rank[docs[np.argsort(ids, kind="stable")]] = np.arange(len(ids))
        undated = self.days == 0
        newest = np.where(undated, UNDATED, -self.days.astype(np.int64))
        oldest = np.where(undated, UNDATED, self.days.astype(np.int64))
        return {
            "-date": np.lexsort((id_rank, newest)),
            "date": np.lexsort((id_rank, oldest)),
        }

    def ordered(self, mask: np.ndarray, sort: str, start: int, stop: int) -> list[int]:
        """The documents of the mask in a date order, from position start to stop."""
        order = self._orders[sort]
        return order[mask[order]][start:stop].tolist()

    def days_between(self, first: dt.date | None, last: dt.date | None) -> np.ndarray:
        """The documents dated from first to last (inclusive; None: open)."""
        lo = first.toordinal() if first else 1
        hi = last.toordinal() if last else dt.date.max.toordinal()
        return (self.days >= lo) & (self.days <= hi)

    def histogram(self, mask: np.ndarray, interval: str) -> tuple[str, list[tuple[str, int]], int]:
        """The documents of the mask by day, month or year (`timeline.histogram`)."""
        return histogram(self.periods, mask, interval)

    def facets(
        self, mask: np.ndarray, searcher: Any, spell: Spelling | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Counts of the faceted labels, years and kinds over the documents of the mask.
        A label value is shown as `spell(label, key)` gives it (the vocabulary's most
        common spelling), else as a document of this generation spells it (`searcher`:
        the caller's)."""
        docs = np.flatnonzero(mask)
        years = np.bincount(self.years[docs], minlength=1)
        years[0] = 0  # undated
        kinds = np.bincount(self.kinds[docs], minlength=len(KINDS))
        return {
            **{lb.name: self._labelled(lb, docs, searcher, spell) for lb in FACETED},
            "year": [
                {"value": str(y), "count": int(years[y])}
                for y in sorted(np.flatnonzero(years).tolist(), key=lambda y: (-years[y], -y))[
                    :FACET_SIZE
                ]
            ],
            "kind": [
                {"value": KINDS[k], "count": int(kinds[k])}
                for k in sorted(range(1, len(KINDS)), key=lambda k: (-kinds[k], KINDS[k]))
                if kinds[k]
            ],
        }

    def _labelled(
        self, lb: Label, docs: np.ndarray, searcher: Any, spell: Spelling | None
    ) -> list[dict[str, Any]]:
        labels = self.labels[lb.name]
        counts = labels.counts(docs)
        held = np.flatnonzero(counts)
        if len(held) > FACET_SIZE:  # every key tied with the last one shown, then sorted
            floor = np.partition(counts[held], len(held) - FACET_SIZE)[len(held) - FACET_SIZE]
            held = held[counts[held] >= floor]
        top = sorted(held.tolist(), key=lambda k: (-counts[k], labels.keys[k]))[:FACET_SIZE]
        keys = [labels.keys[k] for k in top]
        names = [(spell and spell(lb, key)) or self.label(lb, key, searcher) for key in keys]
        out = [{"value": name, "count": int(counts[k])} for name, k in zip(names, top, strict=True)]
        if lb.name == "locations":  # with the kind and coordinates the index holds
            for value, k in zip(out, top, strict=True):
                value.update(self.place(labels.keys[k]))
        return out

    def place(self, key: str) -> dict[str, Any]:
        """A location key's {kind, lat, lon} as the index holds them ({} unknown; no lat
        and lon when the gazetteer has no coordinates for it)."""
        point = self.places.point(key)
        if point is None:
            return {}
        kind, lat, lon = point
        return {"kind": kind} if lat is None else {"kind": kind, "lat": lat, "lon": lon}

    def term(self, searcher: Any, field: str, text: str) -> np.ndarray:
        """The live documents holding a term, as sorted document numbers."""
        return self.postings(searcher, field, text)[0]

    def postings(self, searcher: Any, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """A term's live postings: sorted document numbers, and the term's weight in
        each. The most recently used are kept (segments.POSTINGS_CACHED postings in all):
        popular queries repeat."""
        return self._terms.get((field, text), lambda: self._joined(searcher, field, text))

    def _joined(self, searcher: Any, field: str, text: str) -> Postings:
        ids, weights = [], []
        leaves = searcher.reader().leaf_readers()
        for part, (segreader, offset) in zip(self._parts, leaves, strict=True):
            seg_ids, seg_weights = part.cache.postings(segreader, field, text)
            ids.append(seg_ids + offset)
            weights.append(seg_weights)
        all_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        all_weights = np.concatenate(weights) if weights else np.zeros(0, dtype=np.float32)
        live = self.live[all_ids]
        return all_ids[live].astype(np.int32), all_weights[live]

    def phrase(
        self, field: str, words: tuple[str, ...], compute: Callable[[], np.ndarray]
    ) -> np.ndarray:
        """The live documents holding the words as a phrase in the field (sorted), as
        `compute` finds them; the most recently used are kept. A synonym puts the same
        phrase in many queries ("covid" -> "covid 19"), and reading the positions of two
        common words at every document holding both was a quarter of a second a query."""
        return self._phrases.get((field, words), compute)

    def holders(self, term: str, searcher: Any) -> np.ndarray:
        """The documents holding a text term in any text field (sorted, unique). "Related"
        asks for the same distinctive terms again and again (a story's names and places);
        reading their postings was half its time."""
        return self._holders.get(
            term,
            lambda: np.unique(np.concatenate([self.term(searcher, f, term) for f in TEXT_FIELDS])),
        )

    def head(self, searcher: Any, docnum: int) -> Head:
        """A document's title and summary, as written and as analysed (kept with its
        segment, segments.HEADS_CACHED a segment: re-ranking reads the same hits of popular queries
        again and again, and a new generation keeps its segments' heads)."""
        k = bisect.bisect_right(self._offsets, docnum) - 1
        segment, local = self._parts[k].cache, docnum - self._offsets[k]
        found = segment.heads.get(local)
        if found is None:
            data = stored_hit(searcher.stored_fields(docnum))
            found = Head((data.get("title") or "", data.get("summary") or ""))
            segment.keep_head(local, found)
        return found

    def label(self, lb: Label, key: str, searcher: Any) -> str:
        """A key (lowercased in the index) as documents spell it: "Northern Mali conflict"."""
        name = self._names.get((lb.name, key))
        if name is None:
            name = key
            with contextlib.suppress(Exception):
                postings = searcher.postings(lb.name, key)
                if postings.is_active():
                    stored = stored_hit(searcher.stored_fields(postings.id()))
                    spelt = (v for v in lb.values(stored) if label_key(v, lb.multi) == key)
                    name = next(spelt, key)
            self._names[(lb.name, key)] = name
        return name


class TableCache:
    """Tables by generation, sharing segment tables between generations; thread-safe.
    Three generations are kept: while a new one is prepared, requests use the previous,
    and a request thread moves on only to the newest generation once it is prepared, so
    under a stream of commits it may still read one two generations old."""

    KEPT = 3

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._segments: dict[str, Segment] = {}
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
                # The oldest others go, never the one just built: with two kept, a request
                # on a generation dropped meanwhile built its tables, which went again at
                # once, and again at its next call (bench/live_bench.py: as many builds on
                # the request path as in the preparing thread).
                others = sorted(g for g in self._tables if g != gen)
                for old in others[: max(0, len(self._tables) - self.KEPT)]:
                    del self._tables[old], self._live[old]
                live = set().union(*self._live.values())
                segments.update(self._segments)
                self._segments = {k: v for k, v in segments.items() if k in live}
            return tables
