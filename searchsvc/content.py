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
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
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

    def __init__(self, folders: dict[str, Folder]) -> None:
        self.folders = folders
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

    def __getitem__(self, file_id: str) -> FileInfo:
        folder, name = split_id(file_id)
        rows = self._rows(folder)
        if rows is None or name not in rows:
            raise KeyError(file_id)
        return self.info(folder, rows[name])

    def __contains__(self, file_id: object) -> bool:
        if not isinstance(file_id, str):
            return False
        folder, name = split_id(file_id)
        rows = self._rows(folder)
        return rows is not None and name in rows

    def __iter__(self) -> Iterator[str]:
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
    folders: dict[str, Folder] = {}
    stack = [(str(root), "")]
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
    return Tree(folders)
