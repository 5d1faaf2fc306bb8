"""What the last index run saw of each file, kept beside the index.

It lets a run skip unchanged files without parsing them, remember why a file was skipped,
and know which events a changed source text belongs to. It is written after the index
commit, so it never claims more than the index holds: after a crash between the two, the
next run merely redoes some work.

Layout (`searchsvc-manifest/` beside the index), made for a run over 100k files that
finds little or nothing changed:

- `folders.json`: for each content folder, the digest of its files' names, mtimes and
  sizes as last indexed (`content.listing_digest`), and which folders hold source texts.
  A run reads only this (a few hundred kB at archive size) and compares it with the
  scan: an unchanged folder costs one string comparison, not a comparison per file.
- `shard-NN.json`: the entries of each file (stamp, kind, skip reason, links), folders
  spread over `SHARDS` files by a hash of their id, except the folders that hold source
  texts, all in the last one (`shard-64.json`): a run that writes needs every source
  text's links, and only those. A run loads only the shards of the folders that changed
  (and the sources' shard, when it writes), and writes back only the shards it changed.

Shards are written before `folders.json`: a crash between the two leaves digests older
than the entries, which only makes the next run compare those folders file by file.
The single-file manifest of earlier versions (`searchsvc-manifest.json`) is read once and
replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from searchsvc.content import FileInfo, Tree, listing_digest, split_id

DIRNAME = "searchsvc-manifest"
LEGACY = "searchsvc-manifest.json"
VERSION = 2
SHARDS = 64


@dataclass(slots=True)
class Entry:
    mtime_ns: int
    size: int
    kind: str  # event, source, day, skipped
    reason: str = ""
    urls: list[str] = field(default_factory=list)  # events: source URLs; sources: own URL
    event: str = ""  # sources: the event id its front matter names

    @property
    def stamp(self) -> tuple[int, int]:
        return (self.mtime_ns, self.size)

    def to_json(self) -> list[Any]:
        return [self.mtime_ns, self.size, self.kind, self.reason, self.urls, self.event]

    @classmethod
    def from_json(cls, row: list[Any]) -> Entry:
        return cls(*row)


SOURCES = SHARDS  # the shard of the folders holding source texts


def hashed_shard(folder: str) -> int:
    return zlib.crc32(folder.encode("utf-8", "surrogateescape")) % SHARDS


class Files(MutableMapping[str, Entry]):
    """Every file's entry by id, loading the shards it is asked about. Iterating loads
    them all (only a run that changed a source text's links needs that)."""

    def __init__(self, manifest: Manifest) -> None:
        self._m = manifest

    def __getitem__(self, file_id: str) -> Entry:
        folder, name = split_id(file_id)
        return self._m.folder_entries(folder)[name]

    def __contains__(self, file_id: object) -> bool:
        if not isinstance(file_id, str):
            return False
        folder, name = split_id(file_id)
        return name in self._m.folder_entries(folder)

    def __setitem__(self, file_id: str, entry: Entry) -> None:
        folder, name = split_id(file_id)
        self._m.folder_entries(folder, create=True)[name] = entry
        self._m.touched.add(folder)

    def __delitem__(self, file_id: str) -> None:
        folder, name = split_id(file_id)
        del self._m.folder_entries(folder)[name]
        self._m.touched.add(folder)

    def __iter__(self) -> Iterator[str]:
        self._m.load_all()
        for shard in list(self._m.shards.values()):
            for folder, entries in list(shard.items()):
                for name in list(entries):
                    yield folder + name

    def __len__(self) -> int:
        self._m.load_all()
        return sum(len(e) for s in self._m.shards.values() for e in s.values())


class Manifest:
    def __init__(self, schema: int = 0, index_dir: Path | None = None) -> None:
        self.schema = schema
        self.index_dir = index_dir  # where shards are loaded from (None: a new manifest)
        self.digests: dict[str, str] = {}  # folder -> digest of its entries, as saved
        self.source_folders: set[str] = set()
        self.shards: dict[int, dict[str, dict[str, Entry]]] = {}  # loaded shards
        self.touched: set[str] = set()  # folders whose entries changed since loading
        self.legacy = False  # read from the old single file: save it in this layout
        self.files = Files(self)

    @property
    def empty(self) -> bool:
        return not self.digests and not any(self.shards.values())

    # --- reading ---------------------------------------------------------------------

    @classmethod
    def load(cls, index_dir: Path, schema: int) -> Manifest:
        """The saved manifest (its folder digests; entries are loaded when asked for), or
        an empty one when missing, unreadable or from another schema version (which
        makes the next run re-parse everything)."""
        m = cls(schema=schema, index_dir=index_dir)
        try:
            data = json.loads((index_dir / DIRNAME / "folders.json").read_text("utf-8"))
            if data.get("version") != VERSION or data.get("schema") != schema:
                return cls(schema=schema)
            m.digests = dict(data["folders"])
            m.source_folders = set(data["sources"])
        except FileNotFoundError:
            return cls._load_legacy(index_dir, schema)
        except (OSError, ValueError, TypeError, KeyError):
            return cls(schema=schema)
        return m

    @classmethod
    def _load_legacy(cls, index_dir: Path, schema: int) -> Manifest:
        m = cls(schema=schema)
        try:
            data = json.loads((index_dir / LEGACY).read_text(encoding="utf-8"))
            if data.get("version") != 1 or data.get("schema") != schema:
                return m
            folders: dict[str, dict[str, Entry]] = {}
            for file_id, row in data["files"].items():
                folder, name = split_id(file_id)
                folders.setdefault(folder, {})[name] = Entry.from_json(row)
        except (OSError, ValueError, TypeError, KeyError):
            return cls(schema=schema)
        m.source_folders = {f for f, entries in folders.items() if _has_source(entries)}
        for folder, entries in folders.items():
            m._shard(m.shard_of(folder))[folder] = entries
            m.digests[folder] = _digest(entries)
            m.touched.add(folder)
        m.legacy = True
        return m

    def shard_of(self, folder: str) -> int:
        return SOURCES if folder in self.source_folders else hashed_shard(folder)

    def _shard(self, n: int) -> dict[str, dict[str, Entry]]:
        shard = self.shards.get(n)
        if shard is None:
            shard = {}
            if self.index_dir is not None:
                path = self.index_dir / DIRNAME / f"shard-{n:02d}.json"
                try:
                    raw = json.loads(path.read_text(encoding="utf-8"))
                    shard = {
                        folder: {name: Entry.from_json(row) for name, row in rows.items()}
                        for folder, rows in raw.items()
                    }
                except FileNotFoundError:
                    pass
            self.shards[n] = shard
        return shard

    def folder_entries(self, folder: str, create: bool = False) -> dict[str, Entry]:
        """The entries of one folder's files by name (empty when none)."""
        shard = self._shard(self.shard_of(folder))
        entries = shard.get(folder)
        if entries is None:
            entries = {}
            if create:
                shard[folder] = entries
        return entries

    def load_all(self) -> None:
        for n in range(SHARDS + 1):
            self._shard(n)

    def sources(self) -> dict[str, Entry]:
        """The entries of every source text (from the shards of the folders that hold
        one; source texts are few)."""
        out = {}
        for folder in sorted(self.source_folders):
            for name, e in self.folder_entries(folder).items():
                if e.kind == "source":
                    out[folder + name] = e
        return out

    def changes(self, tree: Tree) -> tuple[list[FileInfo], list[str]]:
        """(files new or changed since the manifest, ids of files gone). Folders whose
        digest is the one saved are skipped whole; the others are compared file by file."""
        todo: list[FileInfo] = []
        gone: list[str] = []
        digests = self.digests
        for folder, f in tree.folders.items():
            if digests.get(folder) == f.digest:
                continue
            old = self.folder_entries(folder)
            names = set()
            for row in f.rows:
                name = row[0]
                names.add(name)
                e = old.get(name)
                if e is None or e.mtime_ns != row[1] or e.size != row[2]:
                    todo.append(tree.info(folder, row))
            gone += [folder + n for n in old if n not in names]
        for folder in digests.keys() - tree.folders.keys():
            if not tree.covers(folder):  # a partial scan: not looked at
                continue
            gone += [folder + n for n in self.folder_entries(folder)]
        return todo, gone

    # --- writing ---------------------------------------------------------------------

    def save(self, index_dir: Path) -> None:
        """Write the shards that changed, then the folder digests."""
        where = index_dir / DIRNAME
        where.mkdir(exist_ok=True)
        fresh = self.index_dir != index_dir  # a new manifest: every shard is written
        dirty: set[int] = set()
        for folder in sorted(self.touched):
            n = self.shard_of(folder)
            dirty.add(n)
            entries = self._shard(n).pop(folder, {})
            if not entries:
                self.digests.pop(folder, None)
                self.source_folders.discard(folder)
                continue
            self.digests[folder] = _digest(entries)
            if _has_source(entries):
                self.source_folders.add(folder)
            else:
                self.source_folders.discard(folder)
            n = self.shard_of(folder)  # moved when it gained or lost its source texts
            self._shard(n)[folder] = entries
            dirty.add(n)
        for n in range(SHARDS + 1) if fresh else sorted(dirty):
            shard = self._shard(n)
            path = where / f"shard-{n:02d}.json"
            if not shard:
                path.unlink(missing_ok=True)
                continue
            rows = {
                folder: {name: e.to_json() for name, e in sorted(entries.items())}
                for folder, entries in sorted(shard.items())
            }
            write_atomic(path, json.dumps(rows, separators=(",", ":")))
        data = {
            "version": VERSION,
            "schema": self.schema,
            "folders": dict(sorted(self.digests.items())),
            "sources": sorted(self.source_folders),
        }
        write_atomic(where / "folders.json", json.dumps(data, separators=(",", ":")))
        self.index_dir = index_dir
        self.touched.clear()
        (index_dir / LEGACY).unlink(missing_ok=True)  # replaced (a full run reads none)
        self.legacy = False


def _digest(entries: dict[str, Entry]) -> str:
    return listing_digest([(n, e.mtime_ns, e.size) for n, e in sorted(entries.items())])


def _has_source(entries: dict[str, Entry]) -> bool:
    return any(e.kind == "source" for e in entries.values())


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never a torn one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
