"""Checks that an index can be read.

- `verify`: each segment's stored fields, terms, postings and columns are read; a few
  milliseconds; catches truncated or structurally damaged segment files.
- `record_checksums` / `check_checksums`: the index run records the size and CRC-32 of
  each segment file it commits (`searchsvc-checksums.json`, written and the files synced
  before the commit, so that a web worker can check new segments before serving them); the
  server checks them when it starts and when it first meets a segment, which catches
  damage anywhere in a file.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

from searchsvc.index.manifest import write_atomic
from searchsvc.index.whoosh_compat import index_segments

CHECKSUMS = "searchsvc-checksums.json"


def segment_file(segment: Any) -> str:
    """The one file a segment is written to (a compound file)."""
    return segment.segment_id() + ".seg"


def segment_files(ix: Any) -> list[str]:
    return [segment_file(seg) for seg in index_segments(ix)]


def _crc(path: Path, sync: bool = False) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
        if sync:
            os.fsync(f.fileno())
    return crc


def read_checksums(index_dir: Path) -> dict[str, list[int]]:
    try:
        data = json.loads((index_dir / CHECKSUMS).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def record_checksums(index_dir: Path, segments: list[Any], keep: list[str]) -> None:
    """Before a commit: the size and CRC-32 of the segment files it will name (new ones
    read and synced to disk), beside those of `keep`, the files of the index in use until
    then. Synced, because Whoosh never syncs: after a power cut the index is the old one or
    the new one, not a table of contents naming segments that were never written."""
    old = read_checksums(index_dir)
    new = {name: old[name] for name in keep if name in old}
    for name in map(segment_file, segments):
        path = index_dir / name
        if not path.exists():
            continue
        size = path.stat().st_size
        if name in old and old[name][0] == size:
            new[name] = old[name]
        else:
            new[name] = [size, _crc(path, sync=True)]
    write_atomic(index_dir / CHECKSUMS, json.dumps(new))


def check_checksums(index_dir: Path, ix: Any, done: set[str] | None = None) -> str | None:
    """None when every recorded segment file of the index has its recorded size and
    CRC-32; else which does not. `done`: files already checked (skipped, then added)."""
    recorded = read_checksums(index_dir)
    for name in segment_files(ix):
        if (done is not None and name in done) or name not in recorded:
            continue
        path = index_dir / name
        try:
            size, crc = path.stat().st_size, _crc(path)
        except OSError as exc:
            return f"{name}: {exc.strerror or exc}"
        if [size, crc] != recorded[name]:
            return f"{name} is not as it was written (size or checksum differs)"
        if done is not None:
            done.add(name)
    return None


def verify(ix: Any, reader: Any = None) -> str | None:
    """None when the index reads; else what failed. `reader`: one already open on the
    index, to check instead of opening another (left open)."""
    try:
        own = reader is None
        if own:
            reader = ix.reader()
        try:
            for segreader, _ in reader.leaf_readers():
                n = segreader.doc_count_all()
                for docnum in {0, n // 2, n - 1} if n else ():
                    segreader.stored_fields(docnum)
                for field in ("title", "id", "tags"):
                    for term in _first(segreader, field):
                        list(segreader.postings(field, term).all_ids())
                if segreader.has_column("day") and n:
                    segreader.column_reader("day")[n - 1]
        finally:
            if own:
                reader.close()
    except Exception as exc:  # any failure to read is damage
        return f"{type(exc).__name__}: {exc}"
    return None


def _first(reader: Any, field: str) -> list[bytes]:
    if field not in reader.indexed_field_names():
        return []
    terms = []
    for term in reader.lexicon(field):
        terms.append(term)
        if len(terms) >= 3:
            break
    return terms
