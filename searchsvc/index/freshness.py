"""How current the served index is: its generation, and the age of what it reflects.

For readiness probes (`/readyz`) and `/metrics`. A run that finds nothing to change commits
no generation, so the commit time of a generation alone would make an index of unchanged
content look stale. The age of the served generation is therefore counted from the last
successful run when that run left this generation the newest (it checked the content and
found the generation current), else from the generation's own commit.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from searchsvc.index import state
from searchsvc.index.cleanup import INDEX_NAME


@dataclass(frozen=True)
class Freshness:
    generation: int  # the generation this process serves
    latest: int  # the newest generation on disk
    age_seconds: float | None  # None: unknown (no table of contents to date it)
    runs: dict[str, Any]  # the record of index runs (state.read)


def freshness(searcher: Any, index_dir: Path, now: float | None = None) -> Freshness:
    """The freshness of the generation `searcher` reads."""
    now = time.time() if now is None else now
    generation = searcher.reader().generation()
    latest = generation
    for p in index_dir.glob(f"_{INDEX_NAME}_*.toc"):
        number = p.name[len(INDEX_NAME) + 2 : -4]
        if number.isdigit():
            latest = max(latest, int(number))
    runs = state.read(index_dir)
    since = _mtime(index_dir / f"_{INDEX_NAME}_{generation}.toc")
    last_ok = timestamp(runs.get("last_ok"))
    if latest == generation and last_ok is not None:
        since = max(since or 0.0, last_ok)
    return Freshness(
        generation=generation,
        latest=latest,
        age_seconds=None if since is None else max(0.0, now - since),
        runs=runs,
    )


def run_seconds(run: Any) -> float | None:
    """The duration of a recorded run (`state.read()["last_run"]`), when it has both ends."""
    if not isinstance(run, dict):
        return None
    start, end = timestamp(run.get("start")), timestamp(run.get("end"))
    return None if start is None or end is None else max(0.0, end - start)


def timestamp(iso: Any) -> float | None:
    if not isinstance(iso, str):
        return None
    try:
        return dt.datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
