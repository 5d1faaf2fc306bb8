"""The content tree: which files there are, what each holds, and whether it changed.

The walk never follows a directory link, skips hidden files and folders, and lists file
links as they are (the parser refuses one that leads out of the root or nowhere).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from searchsvc.config import ContentConfig
from searchsvc.parsing import Role, classify


@dataclass(frozen=True, slots=True)
class FileInfo:
    id: str
    path: Path
    mtime_ns: int
    size: int
    role: Role

    @property
    def stamp(self) -> tuple[int, int]:
        return (self.mtime_ns, self.size)


class ContentError(OSError):
    """The content root cannot be read at all."""


def scan(content: ContentConfig) -> dict[str, FileInfo]:
    """Every content file under the root, by id (path relative to the root, `/`-separated)."""
    root = content.root
    if not root.is_dir():
        raise ContentError(f"content root is not a readable directory: {root}")
    files: dict[str, FileInfo] = {}
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # an unreadable folder holds nothing we can index
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), rel + "/"))
                    continue
                if entry.is_symlink():
                    try:
                        st = entry.stat(follow_symlinks=True)
                    except OSError:
                        st = entry.stat(follow_symlinks=False)  # dangling: reported on parse
                    if Path(entry.path).is_dir():
                        continue
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                else:
                    continue  # sockets, fifos, devices
            except OSError:
                continue
            role = classify(rel, content.event_globs, content.source_globs, content.day_globs)
            files[rel] = FileInfo(rel, Path(entry.path), st.st_mtime_ns, st.st_size, role)
    return files
