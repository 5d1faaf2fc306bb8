"""The content tree: which files there are, what each holds, and whether it changed.

The walk never follows a directory link, skips hidden files and folders, and lists file
links as they are (the parser refuses one that leads out of the root or nowhere).

A scan keeps each folder's listing as plain rows (name, mtime, size), and a digest of it,
rather than an object per file: at archive size (100k files) the objects cost more than
the `stat` calls. What the scan relies on to see every change: each file is `stat`-ed
(one call per file, no read). A folder's own mtime changes when an entry is added,
removed or renamed in it, but not when a file in it is written in place, so it cannot
prove a file unchanged: it is not used. The digest of a folder's rows is what lets an
index run skip every unchanged folder with one comparison (see `index/manifest.py`).
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_module
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from searchsvc.config import ContentConfig
    from searchsvc.parsing import Role
else:
    Role = str


@dataclass(frozen=True, slots=True)
class FileInfo:
    id: str
    path: str
    mtime_ns: int
    size: int
    role: Role = "sniff"

    def classified(self, content: ContentConfig) -> FileInfo:
        """This file with its role from the configured globs (done only for files that
        are read: a run over an unchanged tree classifies nothing)."""
        from searchsvc.parsing import classify  # not needed by a run that reads nothing

        role = classify(self.id, content.event_globs, content.source_globs, content.day_globs)
        return FileInfo(self.id, self.path, self.mtime_ns, self.size, role)


class ContentError(OSError):
    """The content root cannot be read at all."""


Row = tuple[str, int, int]  # file name, mtime_ns, size


def listing_digest(rows: list[Row]) -> str:
    """A digest of a folder's rows (sorted by name): equal digests, same files with the
    same mtimes and sizes. Computed in C over three flat buffers (one join, two arrays)."""
    if not rows:
        return ""
    names, mtimes, sizes = zip(*rows, strict=True)
    h = hashlib.blake2b("/".join(names).encode("utf-8", "surrogateescape"), digest_size=16)
    h.update(array("q", mtimes).tobytes())
    h.update(array("q", sizes).tobytes())
    return h.hexdigest()


@dataclass(slots=True)
class Folder:
    """One folder's files (not its subfolders), sorted by name."""

    path: str  # absolute, as scanned
    rows: list[Row] = field(default_factory=list)
    _digest: str | None = None

    @property
    def digest(self) -> str:
        if self._digest is None:
            self._digest = listing_digest(self.rows)
        return self._digest


class Tree(Mapping[str, FileInfo]):
    """The scanned tree, by folder id (`""` for the root, else `news/2013/01/`); as a
    mapping, every file by id (path relative to the root, `/`-separated), a FileInfo made
    on demand."""

    def __init__(
        self,
        folders: dict[str, Folder],
        scope: tuple[frozenset[str], tuple[str, ...]] | None = None,
        root: str | None = None,
    ) -> None:
        self.folders = folders
        self.root = root
        self.scope = scope  # None: the whole tree; else (folders alone, folders deep)
        self._count = sum(len(f.rows) for f in folders.values())
        self._index: dict[str, dict[str, Row]] = {}

    def _rows(self, folder: str) -> dict[str, Row] | None:
        rows = self._index.get(folder)
        if rows is None:
            f = self.folders.get(folder)
            if f is None:
                return None
            rows = self._index[folder] = {r[0]: r for r in f.rows}
        return rows

    def info(self, folder: str, row: Row) -> FileInfo:
        name, mtime_ns, size = row
        return FileInfo(
            folder + name, os.path.join(self.folders[folder].path, name), mtime_ns, size
        )

    def covers(self, folder: str) -> bool:
        """True when this scan listed the folder (or would have, had it existed)."""
        if self.scope is None:
            return True
        flat, deep = self.scope
        return folder in flat or folder.startswith(deep)

    def __getitem__(self, file_id: str) -> FileInfo:
        folder, name = split_id(file_id)
        if not self.covers(folder):
            return self._outside(file_id)
        rows = self._rows(folder)
        if rows is None or name not in rows:
            raise KeyError(file_id)
        return self.info(folder, rows[name])

    def __contains__(self, file_id: object) -> bool:
        if not isinstance(file_id, str):
            return False
        folder, name = split_id(file_id)
        if not self.covers(folder):
            try:
                self._outside(file_id)
            except KeyError:
                return False
            return True
        rows = self._rows(folder)
        return rows is not None and name in rows

    def _outside(self, file_id: str) -> FileInfo:
        """A file outside a partial scan's scope, looked at on its own (a run over some
        paths asks about the events and source texts linked to them)."""
        if self.root is None or any(p.startswith(".") for p in file_id.split("/")):
            raise KeyError(file_id)
        folder, _ = split_id(file_id)
        path = os.path.join(self.root, file_id)
        try:
            st = os.stat(path)
        except OSError:
            raise KeyError(file_id) from None
        if not _real_folder(Path(self.root), folder) or not stat_module.S_ISREG(st.st_mode):
            raise KeyError(file_id)
        return FileInfo(file_id, path, st.st_mtime_ns, st.st_size)

    def __iter__(self) -> Iterator[str]:
        """The files scanned (for a partial scan, those within its scope)."""
        for folder, f in self.folders.items():
            for row in f.rows:
                yield folder + row[0]

    def __len__(self) -> int:
        return self._count


def split_id(file_id: str) -> tuple[str, str]:
    """(folder id, file name): `news/2013/01/a.md` -> (`news/2013/01/`, `a.md`)."""
    cut = file_id.rfind("/") + 1
    return file_id[:cut], file_id[cut:]


_BY_FD = os.stat in os.supports_dir_fd and os.scandir in os.supports_fd


def scan(content: ContentConfig) -> Tree:
    """Every content file under the root, by folder. One `stat` per file: a regular file
    is `stat`-ed by name within its open folder (no walk down the path again: a sixth
    of the scan at archive size)."""
    root = content.root
    if not root.is_dir():
        raise ContentError(f"content root is not a readable directory: {root}")
    return Tree(_walk([(str(root), "")], recursive=True))


def scan_paths(content: ContentConfig, paths: Iterable[str]) -> Tree:
    """The part of the tree that changed paths can have changed (for a run over the
    paths a file watcher saw): the folder of each path, and, for a path that is or was a
    folder, everything under it. `paths` are ids (relative, `/`-separated); a path with
    a hidden part, or through a link, is not content and is left out. The Tree's `scope`
    says which folders it covers: a folder of the manifest missing from a covered place
    is gone; one outside it is not looked at."""
    root = content.root
    if not root.is_dir():
        raise ContentError(f"content root is not a readable directory: {root}")
    flat: set[str] = set()  # folder ids listed alone
    deep: set[str] = set()  # folder ids listed with everything under them
    for p in paths:
        parts = [x for x in p.strip("/").split("/") if x]
        if not parts or any(x.startswith(".") or x == ".." for x in parts):
            continue
        folder = "".join(x + "/" for x in parts[:-1])
        if not _real_folder(root, folder):
            continue
        flat.add(folder)
        if not os.path.isfile(os.path.join(root, *parts)):
            deep.add(folder + parts[-1] + "/")  # a folder, or gone (perhaps a folder)
    deep = {d for d in deep if not any(d != o and d.startswith(o) for o in deep)}
    flat = {f for f in flat if not any(f.startswith(d) for d in deep)}
    starts = [(os.path.join(root, d), d) for d in sorted(deep) if _real_folder(root, d)]
    folders = _walk(starts, recursive=True)
    folders.update(_walk([(os.path.join(root, f), f) for f in sorted(flat)], recursive=False))
    return Tree(folders, scope=(frozenset(flat), tuple(sorted(deep))), root=str(root))


def _real_folder(root: Path, folder: str) -> bool:
    """True when the folder id names a folder reached without a link."""
    path = str(root)
    for part in folder.split("/")[:-1]:
        path = os.path.join(path, part)
        if not stat_module.S_ISDIR(_lstat_mode(path)):
            return False
    return True


def _lstat_mode(path: str) -> int:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return 0


def _walk(stack: list[tuple[str, str]], recursive: bool) -> dict[str, Folder]:
    folders: dict[str, Folder] = {}
    stat = os.stat
    while stack:
        folder, prefix = stack.pop()
        rows: list[Row] = []
        fd = None
        try:
            if _BY_FD:
                fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                with os.scandir(fd) as it:
                    entries = list(it)
            else:
                with os.scandir(folder) as it:
                    entries = list(it)
        except OSError:
            if fd is not None:
                os.close(fd)
            continue  # an unreadable folder holds nothing we can index
        try:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    if entry.is_file(follow_symlinks=False):  # most entries: one test
                        if fd is not None:
                            st = stat(name, dir_fd=fd, follow_symlinks=False)
                        else:
                            st = entry.stat(follow_symlinks=False)
                    elif entry.is_dir(follow_symlinks=False):
                        if recursive:
                            stack.append((os.path.join(folder, name), prefix + name + "/"))
                        continue
                    elif entry.is_symlink():
                        path = os.path.join(folder, name)
                        try:
                            st = stat(path)
                        except OSError:
                            st = os.lstat(path)  # dangling: reported on parse
                        if os.path.isdir(path):
                            continue
                    else:
                        continue  # sockets, fifos, devices
                except OSError:
                    continue
                rows.append((name, st.st_mtime_ns, st.st_size))
        finally:
            if fd is not None:
                os.close(fd)
        if rows:
            rows.sort()
            folders[prefix] = Folder(folder, rows)
    return folders
