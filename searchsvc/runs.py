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
    limit = config.index.run_timeout if limit is None else limit
    try:
        code = proc.wait(timeout=limit)
        reason = f"killed by signal {_signal_name(-code)}" if code < 0 else ""
    except subprocess.TimeoutExpired:
        log.error(
            "index run (pid %s) still running after %g s (index.run_timeout): killing it",
            proc.pid,
            limit,
        )
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait()
        reason = f"killed after {limit:g} s: longer than index.run_timeout"
    if reason:
        state.record_failure(config.index.dir, proc.pid, reason)
    return code


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
    wait = config.index.run_timeout if lock_timeout is None else lock_timeout
    env = {
        "SEARCHSVC_INDEX_LOCK_TIMEOUT": f"{wait:g}",
        "SEARCHSVC_INDEX_NICE": "0",
    }
    child = _FORK.Process(
        target=_child, args=(main, argv, env), name="searchsvc-index", daemon=False
    )
    child.start()
    limit = config.index.run_timeout
    child.join(limit)
    reason = ""
    if child.is_alive():
        log.error("index run (pid %s) still running after %g s: killing it", child.pid, limit)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        child.join()
        reason = f"killed after {limit:g} s: longer than index.run_timeout"
    code = child.exitcode if child.exitcode is not None else -1
    if code < 0 and not reason:
        reason = f"killed by signal {-code}"
    if reason and child.pid is not None:  # a run killed cannot record its end itself
        state.record_failure(config.index.dir, child.pid, reason)
    return code


def _child(main: Main, argv: list[str], env: dict[str, str]) -> None:
    os.setsid()  # a process group of its own, like the scheduler's runs
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)  # the scheduler's handlers are not the run's
    os.environ.update(env)
    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
