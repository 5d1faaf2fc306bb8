"""The record of index runs, beside the index: the last run (start, end, report, error) and
the scheduler's next run. Written by whichever process runs the indexer or the scheduler,
read by every web worker for `/stats`."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from searchsvc.index.manifest import write_atomic

FILENAME = "searchsvc-state.json"


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def read(index_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((index_dir / FILENAME).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _update(index_dir: Path, **changes: Any) -> None:
    data = read(index_dir)
    data.update(changes)
    # The record is informative: a read-only index directory must not fail a run.
    with contextlib.suppress(OSError):
        write_atomic(index_dir / FILENAME, json.dumps(data, indent=1))


def record_start(index_dir: Path, started: float) -> None:
    _update(index_dir, running={"pid": os.getpid(), "start": _iso(started)})


def record_end(
    index_dir: Path, started: float, report: dict[str, Any] | None, error: str | None
) -> None:
    import time

    last = {
        "start": _iso(started),
        "end": _iso(time.time()),
        "pid": os.getpid(),
        "report": report,
        "error": error,
    }
    _update(index_dir, running=None, last_run=last)


def record_next_run(index_dir: Path, when: dt.datetime | None) -> None:
    _update(index_dir, next_run=when.isoformat(timespec="seconds") if when else None)
