"""Index runs in processes of their own, for the scheduler, the file watcher, pushes and
re-index requests: the command line of a run, starting one in its own session, waiting
for it at most `index.run_timeout` (past it, its whole process group is killed and the
failure recorded: a run killed cannot record its end itself), and the watcher's runs
forked from its process rather than started anew.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Callable

from searchsvc.config import Config
from searchsvc.index import state

log = logging.getLogger(__name__)

_FORK = multiprocessing.get_context("fork")
Main = Callable[[list[str]], int]  # a command line's entry point: argv -> exit status
KILL_WAIT = 30.0  # seconds for a run's process group to be gone after SIGKILL


def index_command(config: Config, *extra: str) -> list[str]:
    """The command line of an index run with this configuration."""
    cmd = [sys.executable, "-m", "searchsvc"]
    if config.file:
        cmd += ["--config", str(config.file)]
    cmd += ["index", "--content", str(config.content.root), "--index", str(config.index.dir)]
    return [*cmd, "--no-progress", *extra]


def start_run(
    config: Config, *extra: str, lock_timeout: float | None = None, nice: int | None = None
) -> subprocess.Popen[bytes]:
    """Start an index run (`extra`: more arguments, e.g. `--full`) in its own process
    group, so that it can be killed whole; `lock_timeout` and `nice` instead of the
    configured ones."""
    env = None
    if lock_timeout is not None:
        env = os.environ | {"SEARCHSVC_INDEX_LOCK_TIMEOUT": f"{lock_timeout:g}"}
    if nice is not None:
        env = (env or dict(os.environ)) | {"SEARCHSVC_INDEX_NICE": str(nice)}
    return subprocess.Popen(index_command(config, *extra), start_new_session=True, env=env)


def supervise(proc: subprocess.Popen[bytes], config: Config, limit: float | None = None) -> int:
    """Wait for a run started by start_run, at most `limit` seconds (`index.run_timeout`);
    past it, kill its process group. A run that died of a signal cannot record its end:
    it is recorded here. Returns the exit status (negative: the signal)."""

    def wait(seconds: float) -> int | None:
        try:
            return proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    return _finish(config, proc.pid, wait, config.index.run_timeout if limit is None else limit)


def _finish(config: Config, pid: int, wait: Callable[[float], int | None], limit: float) -> int:
    """The end of a run: `wait(seconds)` for it at most `limit` seconds, then kill its
    process group and wait for it at most KILL_WAIT more; how it was killed or died of a
    signal is recorded (it cannot record that itself). Its exit status, negative for a
    signal (-1: not known, still there after the kill)."""
    code = wait(limit)
    reason = f"killed by signal {_signal_name(-code)}" if code is not None and code < 0 else ""
    if code is None:
        log.error(
            "index run (pid %s) still running after %g s (index.run_timeout): killing it",
            pid,
            limit,
        )
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        code = wait(KILL_WAIT)
        reason = f"killed after {limit:g} s: longer than index.run_timeout"
        if code is None:
            log.error("index run (pid %s) still there %g s after SIGKILL", pid, KILL_WAIT)
    if reason:
        state.record_failure(config.index.dir, pid, reason)
    return -1 if code is None else code


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def run_forked(
    config: Config, args: list[str], main: Main, lock_timeout: float | None = None
) -> int:
    """`searchsvc index <args>` in a child forked from this process (what it imported is
    there already: `watch.preload`), run by `main` (the command line's `cli.main`, passed
    down from above) as a subprocess would run it: its own session (killed whole past
    `index.run_timeout`), the same configuration, exit status, lock and state records;
    waiting for the index lock `lock_timeout` seconds, by default as long as a run may
    take (a burst is never dropped for a full rebuild), at normal priority (it is the
    latency readers see)."""
    argv = index_command(config, *args)[3:]  # after `python -m searchsvc`
    lock_wait = config.index.run_timeout if lock_timeout is None else lock_timeout
    env = {
        "SEARCHSVC_INDEX_LOCK_TIMEOUT": f"{lock_wait:g}",
        "SEARCHSVC_INDEX_NICE": "0",
    }
    child = _FORK.Process(
        target=_child, args=(main, argv, env), name="searchsvc-index", daemon=False
    )
    child.start()
    assert child.pid is not None  # started

    def wait(seconds: float) -> int | None:
        child.join(seconds)
        return child.exitcode

    return _finish(config, child.pid, wait, config.index.run_timeout)


def _child(main: Main, argv: list[str], env: dict[str, str]) -> None:
    os.setsid()  # a process group of its own, like the scheduler's runs
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)  # the scheduler's handlers are not the run's
    os.environ.update(env)
    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
