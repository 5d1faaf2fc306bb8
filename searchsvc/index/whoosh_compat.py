"""The private corners of Whoosh 2.7.4 that searchsvc reads, gathered in one place.

Whoosh is frozen, so they will not move; but a change of Whoosh version (a maintained fork)
should be a change of this file and a red test (tests/test_whoosh_compat.py), not a hunt.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from whoosh import columns
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.filedb import compound, structfile
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.system import _INT_SIZE
from whoosh.util.numeric import byte_to_length

_EMPTY = np.zeros(0, dtype=np.int32)
_NO_WEIGHTS = np.zeros(0, dtype=np.float32)


def postings(segreader: Any, field: str, text: str | bytes) -> tuple[np.ndarray, np.ndarray]:
    """A term's postings in one segment as arrays: document numbers (deleted documents
    included: callers mask them) and weights (the term's frequency in the document).
    Whoosh's `all_ids()` steps through a posting list one document at a time in Python (a
    microsecond each); this reads each block at once."""
    try:
        m = segreader.postings(field, text)
    except TermNotFound:
        return _EMPTY, _NO_WEIGHTS
    if isinstance(m, FilterMatcher):  # the deletions filter: masked by the caller
        m = m.child
    if not isinstance(m, W3LeafMatcher):
        ids, weights = [], []
        while m.is_active():
            ids.append(m.id())
            weights.append(m.weight())
            m.next()
        return np.asarray(ids, dtype=np.int32), np.asarray(weights, dtype=np.float32)
    id_blocks, weight_blocks = [], []
    while m.is_active():
        if m._ids is None:
            m._read_ids()
        if m._weights is None:
            m._read_weights()
        id_blocks.append(np.asarray(m._ids[m._i :], dtype=np.int32))
        weight_blocks.append(np.asarray(m._weights[m._i :], dtype=np.float32))
        m._next_block()
    if not id_blocks:
        return _EMPTY, _NO_WEIGHTS
    return np.concatenate(id_blocks), np.concatenate(weight_blocks)


def positions_at(segreader: Any, field: str, text: str, docnums: list[int]) -> dict[int, Any]:
    """A term's positions in each of these documents of one segment (sorted) that holds
    it. Blocks holding none of them are passed by their headers: Whoosh's `skip_to`
    steps through every document number before the one it looks for."""
    out: dict[int, Any] = {}
    try:
        m = segreader.postings(field, text)
    except TermNotFound:
        return out
    if isinstance(m, FilterMatcher):
        m = m.child
    fmt = segreader.schema[field].format
    if not isinstance(m, W3LeafMatcher):
        wanted = set(docnums)
        while m.is_active():
            if m.id() in wanted:
                out[m.id()] = fmt.decode_positions(m.value())
            m.next()
        return out
    k = 0
    while m.is_active() and k < len(docnums):
        if docnums[k] > m._maxid:  # none of them in this block
            m._next_block()
            continue
        if m._ids is None:
            m._read_ids()
        if m._values is None:
            m._read_values()
        ids = m._ids
        i = 0
        while k < len(docnums) and docnums[k] <= m._maxid:
            d = docnums[k]
            while ids[i] < d:
                i += 1
            if ids[i] == d:
                out[d] = fmt.decode_positions(m._values[i])
            k += 1
        m._next_block()
    return out


def posting_ids(segreader: Any, field: str, text: str | bytes) -> np.ndarray:
    """The document numbers of a term's postings in one segment (see `postings`)."""
    return postings(segreader, field, text)[0]


_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


def field_lengths(segreader: Any, field: str) -> np.ndarray:
    """Each document's length of a field, as Whoosh's scorers read it (a byte that
    encodes the length approximately; 0 where the field is empty)."""
    n = segreader.doc_count_all()
    column = segreader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    if column is None:
        return np.zeros(n)
    return _LENGTHS[numeric_column(column, n).astype(np.uint8)]


def numeric_column(column: Any, n: int) -> np.ndarray:
    """A numeric column's values for documents 0 to n - 1, read at once (Whoosh reads
    and unpacks them one document at a time: seconds at archive size)."""
    if isinstance(column, columns.NumericColumn.Reader):
        count = min(column._count, n)
        raw = column._dbfile.get(column._basepos, count * column._fixedlen)
        values = np.frombuffer(raw, dtype=">" + column._typecode).astype(np.int64)
        if count < n:  # the column ends before the last documents: the default value
            values = np.concatenate([values, np.full(n - count, column._default)])
        return values
    return np.fromiter((column[d] for d in range(n)), dtype=np.int64, count=n)


def ids_in_order(segreader: Any, field: str) -> tuple[list[str], np.ndarray]:
    """A unique field's values in sorted order, and the document holding each (a unique
    term's posting list starts and ends at its one document, which the term's info
    records: no posting list is read)."""
    values, docnums = [], []
    for btext, info in segreader.iter_field(field):
        value = btext.decode("utf-8")
        if info.doc_frequency() == 1:
            values.append(value)
            docnums.append(info.min_id())
        else:  # never written so by an index run; read the postings to be sure
            for d in posting_ids(segreader, field, btext).tolist():
                values.append(value)
                docnums.append(d)
    return values, np.asarray(docnums, dtype=np.int32)


class _View:
    """A read-only file over a memoryview, without copying it."""

    def __init__(self, buf: memoryview) -> None:
        self._buf = buf
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._buf) if n is None or n < 0 else min(len(self._buf), self._pos + n)
        out = self._buf[self._pos : end].tobytes()
        self._pos = end
        return out

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def readline(self, limit: int = -1) -> bytes:
        out = bytearray()
        while self._pos < len(self._buf) and (limit < 0 or len(out) < limit):
            c = self._buf[self._pos]
            self._pos += 1
            out.append(c)
            if c == 10:
                break
        return bytes(out)

    def seek(self, pos: int, whence: int = 0) -> int:
        base = (0, self._pos, len(self._buf))[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        pass

    def flush(self) -> None:
        pass


class SharedBufferFile(structfile.BufferFile):
    """Whoosh's file over a part of a memory-mapped segment, read in place. Whoosh's own
    copies the part into a BytesIO when it opens it: each web worker held a private
    copy of every segment's postings and terms (about 115 MB per worker at archive
    size), where the mapped pages are shared between all the processes."""

    def __init__(self, buf: Any, name: str | None = None, onclose: Any = None) -> None:
        super().__init__(b"", name=name, onclose=onclose)
        self._buf = buf
        self.file = _View(buf)


# Whoosh's compound segment files open their parts through this name.
compound.BufferFile = SharedBufferFile


def searcher_index(searcher: Any) -> Any:
    """The index a searcher reads (for checksums of its segments)."""
    return searcher._ix


def index_segments(ix: Any) -> list[Any]:
    return ix._segments()


def prefix_terms(node: Any, reader: Any) -> Any:
    """The index terms a Prefix or Wildcard query expands to, lazily."""
    return node._btexts(reader)


# --- writing: the steps of SegmentWriter.commit, taken one by one ----------------------------
# An index run writes segments in worker processes and commits them in the parent: Whoosh
# has no public API for either half, so its commit is taken apart here.


def finish_segment(writer: Any) -> Any:
    """Close the writer's new segment: the segment, or None when nothing was added (its
    files are removed)."""
    if writer._added:
        return writer._finalize_segment()
    writer._close_segment()
    return None


def merge_segments(writer: Any, policy: Any) -> list[Any]:
    """The segments to keep after applying a merge policy (`policy(writer, segments)`)."""
    return writer._merge_segments(policy, None, None)


def commit_segments(writer: Any, segments: list[Any]) -> None:
    """Write the table of contents naming exactly these segments, and release the lock."""
    writer._commit_toc(segments)
    writer._finish()


def latest_generation(searcher: Any) -> int:
    """The newest generation on disk of the searcher's index (maybe newer than its own)."""
    return searcher_index(searcher).latest_generation()


def stored_lengths(per_doc_reader: Any, fieldname: str) -> Any:
    """A segment's column of one field's lengths (bytes), or None."""
    return per_doc_reader._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)


INT_SIZE = _INT_SIZE  # bytes of a packed unsigned int in Whoosh's posting values
