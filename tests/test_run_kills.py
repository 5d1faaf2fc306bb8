"""Index runs killed or hung: a dead worker fails the run (not the service), a run past
`index.run_timeout` is killed with its workers, and kills at random moments lose nothing
and leave nothing behind. Real `searchsvc index` processes on a real index."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from conftest import Server, clean_env, config_for, eventually, write
from filelock import FileLock
from test_write_faults import answers, stray_files

from searchsvc.cli import main
from searchsvc.index import SearchIndex, index_busy, run_index, state
from searchsvc.query import request_from_params
from searchsvc.runs import run_forked, start_run, supervise
from searchsvc.scheduler import run_once


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (the pool's workers, for an index run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def group_alive(pgid: int) -> bool:
    """True while a process of the group (the run's, workers included) is alive."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def index_proc(root: Path, ix: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "searchsvc", "index", "--no-progress", *extra]
    return subprocess.Popen(
        [*cmd, "--content", str(root), "--index", str(ix)],
        env=clean_env() | {"SEARCHSVC_INDEX_NICE": "0"},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def workers_of(proc: subprocess.Popen) -> list[int]:
    """The run's worker processes, once they exist (the pool starts after the scan)."""
    found: list[int] = []

    def started() -> bool:
        found[:] = children(proc.pid)
        assert proc.poll() is None, "the run ended before its workers were seen"
        return bool(found)

    eventually(started, 60)
    return found


def test_a_dead_worker_fails_the_run_not_the_service(sample_tree, tmp_path, cli):
    root, ix = sample_tree, tmp_path / "ix"
    cli("index", "--content", str(root), "--index", str(ix), check=True)
    server = Server(root, ix, "--no-schedule").wait_ready()
    try:
        before = requests.get(server.url + "/health", timeout=10).json()
        run = index_proc(root, ix, "--full")
        os.kill(workers_of(run)[0], signal.SIGKILL)  # as the OOM killer would
        _, stderr = run.communicate(timeout=60)  # the run ends: it does not wait for ever
        assert run.returncode == 70, stderr
        assert "Traceback" not in stderr
        errors = [line for line in stderr.splitlines() if " ERROR " in line]
        assert len(errors) == 1 and "worker process died" in errors[0], stderr
        assert not group_alive(run.pid)  # no worker left behind
        assert not index_busy(ix)  # the lock is free
        stats = requests.get(server.url + "/stats", timeout=10).json()
        assert stats["running"] is None and "worker process died" in stats["last_run"]["error"]
        assert requests.get(server.url + "/health", timeout=10).json() == before
        assert stray_files(ix) == []

        again = cli("index", "--full", "--content", str(root), "--index", str(ix))
        assert again.returncode == 0, again.stderr
        stats = requests.get(server.url + "/stats", timeout=10).json()
        assert stats["last_run"]["error"] is None
        assert stats["last_run"]["report"]["documents"] == before["documents"]
    finally:
        server.stop()


def test_a_run_past_its_time_limit_is_killed_with_its_workers(sample_tree, tmp_path):
    root, ix = sample_tree, tmp_path / "ix"
    config = config_for(root, ix, **{"index.run_timeout": 1.0})
    run_index(config, progress=False)
    before = answers(root, ix)

    # A run that cannot finish: one of its workers is stopped (a hung NFS read, say).
    proc = start_run(config, "--full", lock_timeout=5)
    os.kill(workers_of(proc)[0], signal.SIGSTOP)
    code = supervise(proc, config)  # index.run_timeout: 1 s from here
    assert code == -signal.SIGKILL
    eventually(lambda: not group_alive(proc.pid), 10)  # the workers too
    assert not index_busy(ix)
    state = json.loads((ix / "searchsvc-state.json").read_text())
    assert state["running"] is None and "run_timeout" in state["last_run"]["error"]
    assert answers(root, ix) == before

    # The scheduler's run, with the configured limit: a run waiting for a lock that is
    # never released is killed too; the next one gets through.
    with FileLock(str(ix / "searchsvc.lock")):
        assert run_once(config) == -signal.SIGKILL
    os.utime(root / "news")
    assert run_once(config.replace(**{"index.run_timeout": 120.0})) == 0
    state = json.loads((ix / "searchsvc-state.json").read_text())
    assert state["last_run"]["error"] is None and state["last_run"]["report"]
    assert answers(root, ix) == before and stray_files(ix) == []


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_kills_at_random_moments_lose_nothing_and_leave_nothing(sample_tree, tmp_path):
    root, ix = sample_tree, tmp_path / "ix"
    fresh = tmp_path / "fresh"
    run_index(config_for(root, fresh), progress=False)
    expected = answers(root, fresh)
    shutil.copytree(fresh, ix)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    kills = ["run and workers", "run only", "one worker", "run and workers", "run only"]
    landed = 0
    for what in kills:
        run = index_proc(root, ix, "--full")
        workers = workers_of(run)
        # A random moment of the run's work (the workers exist: segments are on the way).
        # (Past the end of a short run sometimes: that moment is one too.)
        time.sleep(rng.uniform(0, 1.0))
        with contextlib.suppress(ProcessLookupError):
            if what == "run and workers":
                os.killpg(run.pid, signal.SIGKILL)
            elif what == "run only":
                os.kill(run.pid, signal.SIGKILL)
            else:
                os.kill(rng.choice(workers), signal.SIGKILL)
        run.communicate(timeout=60)
        landed += run.returncode != 0
        eventually(lambda run=run: not group_alive(run.pid), 10)  # workers die with the run
        assert answers(root, ix) == expected, (seed, what)
        runs = state.read(ix)  # what /stats shows: a dead run is not "running"
        last = runs["last_run"]
        assert runs["running"] is None and (last["report"] or last["error"]), (seed, what)
    # The next run, with nothing to do, removes what the killed runs left.
    run_index(config_for(root, ix), progress=False)
    assert answers(root, ix) == expected
    assert stray_files(ix) == []
    assert folder_bytes(ix) <= 1.3 * folder_bytes(fresh), (seed, landed)


def test_a_forked_run_past_its_time_limit_is_killed_and_recorded(sample_tree, tmp_path):
    """The file watcher's runs are forked from its process (runs.run_forked): a hung one
    is killed at `index.run_timeout` as a started one is, the failure recorded, the last
    good index kept; the next run gets through."""
    root, ix = sample_tree, tmp_path / "ix"
    config = config_for(root, ix, **{"index.run_timeout": 3.0})
    run_index(config, progress=False)
    before = answers(root, ix)
    rel = "news/2013/03/01/hung.md"
    write(root, rel, "### [2013-03-01](/news/2013/03/01/index.md)\n\n# Hung\n\nHungarix.\n")
    ours = os.getpid()
    leaders = {p for p in children(ours) if os.getpgid(p) == p}  # other sessions of ours
    codes: list[int] = []
    run = threading.Thread(target=lambda: codes.append(run_forked(config, ["--path", rel], main)))
    # The run waits for the lock held here, then is stopped (a hung NFS read, say).
    with FileLock(str(ix / "searchsvc.lock")):
        run.start()
        found: list[int] = []

        def forked() -> bool:
            found[:] = [p for p in children(ours) if os.getpgid(p) == p and p not in leaders]
            return bool(found)

        eventually(forked, 10)
        os.kill(found[0], signal.SIGSTOP)
    run.join(30)
    assert codes == [-signal.SIGKILL]
    assert not group_alive(found[0]) and not index_busy(ix)
    recorded = state.read(ix)
    assert recorded["running"] is None and "run_timeout" in recorded["last_run"]["error"]
    assert answers(root, ix) == before and stray_files(ix) == []

    assert run_forked(config, ["--path", rel], main) == 0
    found_now = SearchIndex(config).search(request_from_params({"q": ["hungarix"]}, config.search))
    assert [h.id for h in found_now.hits] == [rel]
