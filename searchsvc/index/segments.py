"""What the tables read of one index segment, kept as long as the segment: each
document's labels, day, kind, id and scored field lengths (`read_segment`), and the
postings and heads requests read of it (`SegmentCache`).

A segment's files never change (deletions are the generation's), so all of this is read
once and shared by every generation that keeps the segment; `tables.py` joins the
segments of one generation.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from searchsvc.index.analysis import terms
from searchsvc.index.schema import TEXT_ANALYZER, TEXT_FIELDS
from searchsvc.index.whoosh_compat import (
    field_lengths,
    ids_in_order,
    numeric_column,
    posting_ids,
    postings,
)
from searchsvc.model import LABELS

KINDS = ("", "event", "source")  # kind codes: 0 unknown
# Caches bounded by what they hold (a common word's postings are a hundred thousand
# numbers): about 8 bytes a posting.
POSTINGS_CACHED = 3_000_000  # postings kept in a cache of posting lists
HEADS_CACHED = 20_000  # titles and summaries kept per segment, for re-ranking (~1 KB each)
# Fields whose lengths BM25F reads: the text, and the labels that are lists (scorable).
SCORED_FIELDS = (*TEXT_FIELDS, *(lb.name for lb in LABELS if lb.multi))


@dataclass
class Labels:
    """A label (tags, locations, category): each document's keys, as rows of a
    compressed sparse table (`keys[values[starts[d]:starts[d + 1]]]`)."""

    keys: list[str]  # as indexed: lowercase
    starts: np.ndarray  # int64, one more than documents
    values: np.ndarray  # int32 indexes into keys

    def counts(self, docs: np.ndarray) -> np.ndarray:
        """How many of these documents hold each key."""
        lo, hi = self.starts[docs], self.starts[docs + 1]
        lengths = hi - lo
        total = int(lengths.sum())
        if not total:
            return np.zeros(len(self.keys), dtype=np.int64)
        # The positions of all the documents' rows, in one vector: each row's start,
        # repeated over its length, plus the offset within the row.
        offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return np.bincount(self.values[np.repeat(lo, lengths) + offsets], minlength=len(self.keys))

    def row(self, docnum: int) -> list[str]:
        return [self.keys[k] for k in self.values[self.starts[docnum] : self.starts[docnum + 1]]]


@dataclass(frozen=True)
class Head:
    """A document's title and summary (`texts`), and their analysed terms (stop words
    out) once asked for (`terms`)."""

    texts: tuple[str, str]
    _terms: dict[int, tuple[str, ...]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def terms(self, k: int) -> tuple[str, ...]:
        """The analysed terms of `texts[k]`, analysed when first asked: only a query of
        two or more words looks for its phrase in them (the summary only when the title
        lacks it). Analysing every head of a re-ranked window was 40% of a computed
        search's time on the archive's query log."""
        found = self._terms.get(k)
        if found is None:
            found = self._terms[k] = terms(TEXT_ANALYZER, self.texts[k])
        return found


Postings = tuple[np.ndarray, np.ndarray]  # sorted document numbers, and the weight in each
K = TypeVar("K")
V = TypeVar("V")


class SizedLRU(Generic[K, V]):
    """Values by key, the most recently used kept, at most `limit` in all as `size`
    counts them (a posting list's length, say); thread-safe. `compute` runs outside the
    lock."""

    def __init__(self, limit: int, size: Callable[[V], int]) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[K, V] = OrderedDict()
        self._total = 0
        self._limit = limit
        self._size = size

    def get(self, key: K, compute: Callable[[], V]) -> V:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        found = compute()
        with self._lock:
            if key not in self._kept:
                self._kept[key] = found
                self._total += self._size(found)
            while self._total > self._limit and len(self._kept) > 1:
                _, old = self._kept.popitem(last=False)
                self._total -= self._size(old)
        return found


def postings_lru() -> SizedLRU[tuple[str, str], Postings]:
    """Postings by (field, term), at most POSTINGS_CACHED postings in all."""
    return SizedLRU(POSTINGS_CACHED, lambda postings: len(postings[0]))


class SegmentCache:
    """What requests read of one segment, kept as long as the segment: its files do not
    change (deletions are the generation's), so a new generation starts with the postings
    and heads its kept segments had. Each new generation used to start empty: under live
    edits (a generation every second or two) every popular query read its postings from
    Whoosh again, which doubled the CPU a request took (bench/live_bench.py)."""

    def __init__(self) -> None:
        self._postings = postings_lru()
        self.heads: dict[int, Head] = {}  # by the segment's own document number

    def postings(self, segreader: Any, field: str, text: str) -> Postings:
        """A term's postings in the segment, deleted documents included."""
        return self._postings.get((field, text), lambda: postings(segreader, field, text))

    def keep_head(self, docnum: int, head: Head) -> None:
        if len(self.heads) >= HEADS_CACHED:
            self.heads.clear()  # rare; a plain reset keeps the memory bounded
        self.heads[docnum] = head


@dataclass
class Segment:
    labels: dict[str, Labels]  # every label (model.LABELS), by name
    places: Labels  # the `places` field: each location's kind and coordinates (geo.py)
    days: np.ndarray  # int32 day numbers, 0 when undated
    kinds: np.ndarray  # int8 codes of KINDS
    ids: np.ndarray  # sorted, as UTF-8 bytes (which sort as the strings do)
    id_docs: np.ndarray  # the document of each id
    lengths: dict[str, np.ndarray]  # each scored field's length, as Whoosh's scorer sees it
    cache: SegmentCache = dataclasses.field(default_factory=SegmentCache)


def read_labels(reader: Any, field: str, n: int) -> Labels:
    keys: list[str] = []
    docs: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    if field in reader.indexed_field_names():
        for term in reader.lexicon(field):
            ids = posting_ids(reader, field, term)
            docs.append(ids)
            vals.append(np.full(len(ids), len(keys), dtype=np.int32))
            keys.append(term.decode("utf-8"))
    if not keys:
        return Labels([], np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int32))
    doc = np.concatenate(docs)
    val = np.concatenate(vals)
    order = np.argsort(doc, kind="stable")
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(doc, minlength=n), out=starts[1:])
    return Labels(keys, starts, val[order])


def read_segment(reader: Any) -> Segment:
    n = reader.doc_count_all()
    days = np.zeros(n, dtype=np.int32)
    if reader.has_column("day"):
        days[:] = numeric_column(reader.column_reader("day", translate=False), n)
    kinds = np.zeros(n, dtype=np.int8)
    for code, kind in enumerate(KINDS[1:], 1):
        kinds[posting_ids(reader, "kind", kind)] = code
    ids, id_docs = ids_in_order(reader, "id")
    id_bytes = np.array([i.encode("utf-8") for i in ids], dtype=bytes) if ids else np.zeros(0, "S1")
    return Segment(
        {lb.name: read_labels(reader, lb.name, n) for lb in LABELS},
        read_labels(reader, "places", n),
        days,
        kinds,
        id_bytes,
        id_docs,
        {field: field_lengths(reader, field) for field in SCORED_FIELDS},
    )


def join_labels(parts: list[Labels]) -> Labels:
    """One table of the segments' tables, keys merged."""
    index: dict[str, int] = {}
    starts = [np.zeros(1, dtype=np.int64)]
    values = []
    base = 0
    for part in parts:
        remap = np.array([index.setdefault(k, len(index)) for k in part.keys], dtype=np.int32)
        values.append(remap[part.values] if len(part.keys) else part.values)
        starts.append(part.starts[1:] + base)
        base += len(part.values)
    joined = np.concatenate(values) if values else np.zeros(0, dtype=np.int32)
    return Labels(list(index), np.concatenate(starts), joined)
