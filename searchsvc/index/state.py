"""The record of index runs, beside the index: the last run (start, end, report, error) and
the scheduler's next run. Written by whichever process runs the indexer or the scheduler,
read by every web worker for `/stats`.

A run killed outright (SIGKILL, the OOM killer, a power cut) cannot record its end, so a
reader checks the pid of the run recorded as running: a run whose process is gone is
never "running" but the last run, failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from searchsvc.index.manifest import write_atomic

FILENAME = "searchsvc-state.json"
LOCK = "searchsvc-state.lock"
_HOST = socket.gethostname()  # pids are checked only on the host that recorded them


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def read(index_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((index_dir / FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    running = data.get("running")
    if isinstance(running, dict) and running.get("host", _HOST) == _HOST:
        pid = running.get("pid")
        if isinstance(pid, int) and not pid_alive(pid):
            data["running"] = None
            data["last_run"] = {
                "start": running.get("start"),
                "end": None,
                "pid": pid,
                "report": None,
                "error": f"the run (pid {pid}) ended without finishing: killed or crashed",
            }
    watch = data.get("watch")
    if isinstance(watch, dict) and watch.get("running") and watch.get("host", _HOST) == _HOST:
        pid = watch.get("pid")
        if isinstance(pid, int) and not pid_alive(pid):
            data["watch"] = {**watch, "running": False}
    return data


def pid_alive(pid: int) -> bool:
    """True while the process runs (a zombie, dead but not yet waited for, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill()
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


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
    _update(index_dir, running={"pid": os.getpid(), "host": _HOST, "start": _iso(started)})


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
    outcome = "ok" if error is None else "failed"
    extra: dict[str, Any] = {"last_ok": last["end"]} if error is None else {}
    _update(
        index_dir,
        running=None,
        last_run=last,
        runs=lambda n: (n or 0) + 1,
        outcomes=lambda d: _count(d, outcome),
        **extra,
    )


def _count(outcomes: Any, outcome: str) -> dict[str, int]:
    """Runs by outcome ("ok", "failed"), for /metrics."""
    counts = dict(outcomes) if isinstance(outcomes, dict) else {}
    counts[outcome] = int(counts.get(outcome, 0)) + 1
    return counts


def record_next_run(index_dir: Path, when: dt.datetime | None) -> None:
    _update(index_dir, next_run=when.isoformat(timespec="seconds") if when else None)


def record_watch(index_dir: Path, **changes: Any) -> None:
    """The file watcher's record (`running`, `since`, `last_fired`, `last_paths`,
    `last_status`), for /stats; `running` is read as false once its process is gone."""

    def merge(old: Any) -> Any:
        out = dict(old) if isinstance(old, dict) else {}
        out.update(pid=os.getpid(), host=_HOST, **changes)
        for key in ("since", "last_fired"):
            if isinstance(out.get(key), float):
                out[key] = _iso(out[key])
        return out

    _update(index_dir, watch=merge)


def record_failure(index_dir: Path, pid: int, error: str) -> None:
    """The end of a run that could not record it itself (killed by the scheduler)."""

    def last(old: Any) -> Any:
        return {
            # read() has made the dead run the last one: its start is there.
            "start": old.get("start") if isinstance(old, dict) and old.get("pid") == pid else None,
            "end": _iso(time.time()),
            "pid": pid,
            "report": None,
            "error": error,
        }

    _update(
        index_dir,
        running=None,
        last_run=last,
        runs=lambda n: (n or 0) + 1,
        outcomes=lambda d: _count(d, "failed"),
    )
