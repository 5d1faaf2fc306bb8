"""A push asks the file watcher to index its paths now (`searchsvc/push.py` -> `watch.py`).

A pushed document is a file written into the content tree, which the watcher sees anyway.
Without this, each push cost two index runs: its own (a new Python process started by the
web worker: half a second of imports before the run) and the watcher's over the same
file, and each web worker switched generations for both. Instead, the web worker writes
the file and asks the watcher, over a Unix socket beside the index
(`searchsvc-watch.sock`; the index folder's permissions guard it), to run over the
document's path at once, in the child it forks from its loaded process, and waits for
that run's end. The watcher takes note of the file as the push left it, so the file
events of the push's own write start no second run.

One request a line, one answer a line, JSON:
    -> {"paths": ["news/2013/03/01/a.md"], "lock_wait": 3.0}
    <- {"taken": true, "code": 0}      the run over the paths ended (its exit status)
    <- {"taken": false}                the watcher is busy with a run that waits for the
                                       index (a full rebuild): the paths are queued
Every wait is bounded: the client gives up (and the caller runs the index itself) when
no watcher answers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any, Protocol

from searchsvc.config import Config
from searchsvc.runs import KILL_WAIT

log = logging.getLogger(__name__)

SOCKET = "searchsvc-watch.sock"
CONNECT_TIMEOUT = 2.0  # seconds to connect and send: the watcher's thread answers at once
MAX_REQUEST = 64 * 1024  # bytes: a request names a few paths
MAX_PATH = 100  # a Unix socket's path must be shorter than 108 bytes (Linux)


def socket_path(config: Config) -> Path | None:
    """Where the watcher listens; None when the index folder's path is too long for one."""
    path = config.index.dir.resolve() / SOCKET
    return path if len(os.fsencode(path)) <= MAX_PATH else None


def answer_within(lock_wait: float, run_timeout: float) -> float:
    """The longest the watcher takes to answer a request: `lock_wait` when it cannot take
    the paths, else their run's end, which waits at most `lock_wait` for the index and is
    killed past `run_timeout` (runs.KILL_WAIT more for the kill)."""
    return lock_wait + (lock_wait + run_timeout + KILL_WAIT)


def ask(config: Config, paths: list[str]) -> dict[str, Any] | None:
    """Ask the watcher to index `paths` now and wait for the answer (bounded by the time a
    run may take); None when no watcher answers (none running, or it went away)."""
    where = socket_path(config)
    if where is None or not where.exists():
        return None
    request = {"paths": paths, "lock_wait": config.admin.push_wait}
    # A moment more than the watcher can take, so that its last answer is not missed.
    limit = answer_within(config.admin.push_wait, config.index.run_timeout) + CONNECT_TIMEOUT
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(CONNECT_TIMEOUT)
            sock.connect(str(where))
            sock.sendall(json.dumps(request).encode() + b"\n")
            sock.settimeout(limit)
            with sock.makefile("rb") as reader:
                line = reader.readline(MAX_REQUEST)
        answer = json.loads(line)
    except (OSError, ValueError) as exc:  # no watcher (a stale socket), or it died
        log.info("the file watcher does not answer (%s): indexing in a process of its own", exc)
        return None
    return answer if isinstance(answer, dict) and "taken" in answer else None


class Runner(Protocol):
    """What the listener asks of the watcher (`watch.Watcher`)."""

    def run_now(self, paths: list[str], lock_wait: float) -> dict[str, Any]: ...


class Listener:
    """The watcher's end: a thread accepting requests, a thread per request."""

    def __init__(self, config: Config, watcher: Runner) -> None:
        self.path = socket_path(config)
        self.watcher = watcher
        self._sock: socket.socket | None = None

    def start(self) -> None:
        if self.path is None:
            log.warning("index folder path too long for the watcher's socket: pushes index alone")
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # left by a watcher that was killed
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(self.path))
        os.chmod(self.path, 0o600)
        sock.listen(64)
        self._sock = sock
        threading.Thread(target=self._accept, name="watch-socket", daemon=True).start()

    def stop(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
            self._sock = None
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def _accept(self) -> None:
        while (sock := self._sock) is not None:
            try:
                conn, _ = sock.accept()
            except OSError:
                return  # closed by stop()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(CONNECT_TIMEOUT)
                with conn.makefile("rb") as reader:
                    request = json.loads(reader.readline(MAX_REQUEST))
                paths = [p for p in request["paths"] if isinstance(p, str)]
                lock_wait = float(request["lock_wait"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("bad request on the watcher's socket: %s", exc)
                return
            answer = self.watcher.run_now(paths, lock_wait)
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(answer).encode() + b"\n")
