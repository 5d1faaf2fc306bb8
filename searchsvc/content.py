"""The content tree: which files there are, what each holds, and whether it changed.

The walk never follows a directory link, skips hidden files and folders, and lists file
links as they are (the parser refuses one that leads out of the root or nowhere).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from searchsvc.config import ContentConfig
from searchsvc.parsing import Role, classify


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
        role = classify(self.id, content.event_globs, content.source_globs, content.day_globs)
        return FileInfo(self.id, self.path, self.mtime_ns, self.size, role)


class ContentError(OSError):
    """The content root cannot be read at all."""


def scan(content: ContentConfig) -> dict[str, FileInfo]:
    """Every content file under the root, by id (path relative to the root, `/`-separated)."""
    root = content.root
    if not root.is_dir():
        raise ContentError(f"content root is not a readable directory: {root}")
    files: dict[str, FileInfo] = {}
    stack = [(str(root), "")]
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
                    stack.append((entry.path, rel + "/"))
                    continue
                if entry.is_symlink():
                    try:
                        st = entry.stat(follow_symlinks=True)
                    except OSError:
                        st = entry.stat(follow_symlinks=False)  # dangling: reported on parse
                    if os.path.isdir(entry.path):
                        continue
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                else:
                    continue  # sockets, fifos, devices
            except OSError:
                continue
            files[rel] = FileInfo(rel, entry.path, st.st_mtime_ns, st.st_size)
    return files
