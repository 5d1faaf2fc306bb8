"""Re-index requests (`POST /admin/reindex`), coalesced across every web worker process.

At most one run at work and one more waiting for it, whatever the number of requests:
- no run waiting to start: start one (it waits for the index lock while another run holds
  it, so it sees every change made before the request);
- a run started for an earlier request that has not begun its scan yet: join it (it will
  see this request's changes too);
- two index processes already (one at work, one finishing or not ours): 409, try again.

The web workers are separate processes (and a scheduler or a shell may run the index too),
so they agree through the index directory, not memory: a file lock held for the moment of
a decision, and a small file naming the runs started for requests
(`searchsvc-requests.json`). A run has begun its scan once the state file names it as
running (it records that before scanning) or as the last run.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from searchsvc.config import Config
from searchsvc.index import state
from searchsvc.index.manifest import write_atomic
from searchsvc.runs import start_run, supervise

log = logging.getLogger(__name__)

REQUESTS = "searchsvc-requests.json"
LOCK = "searchsvc-requests.lock"
DECIDE_TIMEOUT = 5.0  # seconds a request waits for another's decision (each takes ms)


@dataclass(frozen=True)
class Answer:
    run: int  # the run this request started or joined
    pid: int
    joined: bool  # started for an earlier request
    queued: bool  # waits for a run under way


def request_run(config: Config) -> Answer | None:
    """Start or join a run for this request; None when two index processes are at it
    already (or another request's decision takes too long): the caller answers 409."""
    index_dir = config.index.dir
    index_dir.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(index_dir / LOCK), timeout=DECIDE_TIMEOUT):
            return _decide(config, index_dir)
    except Timeout:
        return None


def _decide(config: Config, index_dir: Path) -> Answer | None:
    record = _read(index_dir)
    ours = [r for r in record["runs"] if state.pid_alive(r["pid"])]
    runs = state.read(index_dir)  # a dead run is never "running" there
    working = (runs.get("running") or {}).get("pid")
    finished = (runs.get("last_run") or {}).get("pid")
    waiting = [r for r in ours if r["pid"] not in (working, finished)]
    if waiting:
        r = waiting[0]
        return Answer(r["run"], r["pid"], joined=True, queued=working is not None)
    pids = {r["pid"] for r in ours} | ({working} if working else set())
    if len(pids) >= 2:
        return None
    limit = config.index.run_timeout
    # Waits for the index lock as long as the run under way may take, then runs.
    proc = start_run(config, lock_timeout=limit)
    threading.Thread(target=supervise, args=(proc, config, 2 * limit), daemon=True).start()
    number = record["next"]
    ours.append({"run": number, "pid": proc.pid})
    write_atomic(index_dir / REQUESTS, json.dumps({"next": number + 1, "runs": ours}))
    log.info("index run %d started on request (pid %d)", number, proc.pid)
    return Answer(number, proc.pid, joined=False, queued=bool(pids))


def _read(index_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((index_dir / REQUESTS).read_text(encoding="utf-8"))
        runs = [r for r in data["runs"] if isinstance(r["run"], int) and isinstance(r["pid"], int)]
        return {"next": int(data["next"]), "runs": runs}
    except (OSError, ValueError, KeyError, TypeError):
        return {"next": 1, "runs": []}
