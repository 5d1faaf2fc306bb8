"""What the last index run saw of each file, kept beside the index.

It lets a run skip unchanged files without parsing them, remember why a file was skipped,
and know which events a changed source text belongs to. It is written after the index
commit, so it never claims more than the index holds: after a crash between the two, the
next run merely redoes some work.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FILENAME = "searchsvc-manifest.json"
VERSION = 1


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


@dataclass(slots=True)
class Manifest:
    files: dict[str, Entry] = field(default_factory=dict)
    schema: int = 0

    @classmethod
    def load(cls, index_dir: Path, schema: int) -> Manifest:
        """The saved manifest, or an empty one when missing, unreadable or from another
        schema version (which makes the next run re-parse everything)."""
        try:
            data = json.loads((index_dir / FILENAME).read_text(encoding="utf-8"))
            if data.get("version") != VERSION or data.get("schema") != schema:
                return cls(schema=schema)
            files = {k: Entry.from_json(v) for k, v in data["files"].items()}
        except (OSError, ValueError, TypeError, KeyError):
            return cls(schema=schema)
        return cls(files=files, schema=schema)

    def save(self, index_dir: Path) -> None:
        data = {
            "version": VERSION,
            "schema": self.schema,
            "files": {k: v.to_json() for k, v in sorted(self.files.items())},
        }
        write_atomic(index_dir / FILENAME, json.dumps(data, separators=(",", ":")))


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
