"""The record of index runs, beside the index: the last run (start, end, report, error) and
the scheduler's next run. Written by whichever process runs the indexer or the scheduler,
read by every web worker for `/stats`."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from searchsvc.index.manifest import write_atomic

FILENAME = "searchsvc-state.json"
LOCK = "searchsvc-state.lock"


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
    # Read-modify-write under a lock: the indexer and the scheduler both write here.
    # The record is informative: a read-only index directory must not fail a run.
    with contextlib.suppress(OSError, Timeout), FileLock(str(index_dir / LOCK), timeout=5):
        data = read(index_dir)
        for key, value in changes.items():
            if callable(value):
                data[key] = value(data.get(key))
            else:
                data[key] = value
        write_atomic(index_dir / FILENAME, json.dumps(data, indent=1))


def record_start(index_dir: Path, started: float) -> None:
    _update(index_dir, running={"pid": os.getpid(), "start": _iso(started)})


def record_end(
    index_dir: Path, started: float, report: dict[str, Any] | None, error: str | None
) -> None:
    last = {
        "start": _iso(started),
        "end": _iso(time.time()),
        "pid": os.getpid(),
        "report": report,
        "error": error,
    }
    _update(index_dir, running=None, last_run=last, runs=lambda n: (n or 0) + 1)


def record_next_run(index_dir: Path, when: dt.datetime | None) -> None:
    _update(index_dir, next_run=when.isoformat(timespec="seconds") if when else None)
