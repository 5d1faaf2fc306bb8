"""Removing what a failed or killed run left in the index directory.

A run killed at any point, or stopped by a full disk, leaves files that no generation
refers to: segment files (and their `.vocab`) it was writing, Whoosh's temporary folder
(`MAIN.tmp`), a table of contents not yet renamed into place (`_MAIN_<n>.toc.<time>`), and
our own temporary files (`.<name>.tmp`). Whoosh removes orphan segments only when a later
run commits, so a disk filled by them would stay full. Each run removes them first, and a
failed run removes its own, under the index lock (no other writer is at work).

Only files that no table of contents on disk names are removed: readers of the current
generation (and of any other whose table of contents is still there) keep theirs. When a
table of contents cannot be read, nothing is removed.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
from pathlib import Path

from filelock import FileLock, Timeout
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from searchsvc.index import manifest, state

log = logging.getLogger(__name__)

INDEX_NAME = "MAIN"  # Whoosh's default index name
_TOC = re.compile(rf"^_{INDEX_NAME}_([0-9]+)\.toc$")
_TOC_TEMP = re.compile(rf"^_{INDEX_NAME}_[0-9]+\.toc\..+$")
_SEGMENT = re.compile(rf"^({INDEX_NAME}_[0-9a-z]+)\.[A-Za-z0-9_.]+$")
# Temporary files of write_atomic, written only under the index lock (the state file's
# under the state lock, taken below).
_OWN_TEMP = re.compile(r"^\.(searchsvc-(manifest|checksums)\.json|MAIN_[0-9a-z]+\.vocab).*\.tmp$")
_STATE_TEMP = re.compile(rf"^\.{re.escape(state.FILENAME)}.*\.tmp$")
_ANY_TEMP = re.compile(r"^\..*\.tmp$")


def referenced_segments(index_dir: Path) -> set[str] | None:
    """The segment ids named by every table of contents in the folder; None when one
    cannot be read (then nobody can tell what is an orphan)."""
    storage = FileStorage(str(index_dir))
    names: set[str] = set()
    for p in index_dir.iterdir():
        m = _TOC.match(p.name)
        if not m:
            continue
        try:
            toc = TOC.read(storage, INDEX_NAME, int(m[1]))
        except Exception as exc:  # any failure to read: leave everything as it is
            log.warning("cannot read %s (%s): leaving the index folder as it is", p.name, exc)
            return None
        names.update(seg.segment_id() for seg in toc.segments)
    return names


def orphans(index_dir: Path) -> list[Path]:
    """Files and folders in the index directory that no generation refers to."""
    referenced = referenced_segments(index_dir)
    if referenced is None:
        return []
    found = []
    for p in index_dir.iterdir():
        name = p.name
        m = _SEGMENT.match(name)
        if (
            (m and m[1] not in referenced)
            or name == f"{INDEX_NAME}.tmp"
            or _TOC_TEMP.match(name)
            or _OWN_TEMP.match(name)
        ):
            found.append(p)
    # The manifest's own temporary files, inside its folder.
    with contextlib.suppress(OSError):
        found += [p for p in (index_dir / manifest.DIRNAME).iterdir() if _ANY_TEMP.match(p.name)]
    return found


def remove_orphans(index_dir: Path) -> int:
    """Remove what no generation refers to (call it under the index lock). Returns the
    number of bytes freed; never raises (a run goes on, or fails, for its own reasons)."""
    freed = 0
    try:
        for p in orphans(index_dir):
            freed += _remove(p)
        with FileLock(str(index_dir / state.LOCK), timeout=5):
            for p in index_dir.iterdir():
                if _STATE_TEMP.match(p.name):
                    freed += _remove(p)
    except (OSError, Timeout) as exc:
        log.warning("cannot remove leftover files in %s: %s", index_dir, exc)
    if freed:
        log.info("removed %.1f MB of leftover files no generation refers to", freed / 1e6)
    return freed


def _remove(p: Path) -> int:
    size = 0
    with contextlib.suppress(OSError):
        if p.is_dir():
            size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            shutil.rmtree(p)
        else:
            size = p.stat().st_size
            p.unlink()
    return size
