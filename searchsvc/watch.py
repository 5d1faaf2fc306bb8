"""Following the content tree live: the operating system's file events -> index runs.

The watcher runs in the scheduler's process (`searchsvc serve` starts one, whatever the
number of web workers; `searchsvc schedule` is that process alone), so one process on the
machine watches. `watchdog` (inotify on Linux) reports each change; the changed paths
are gathered until `watch.debounce` seconds pass without a new one (at most
`watch.max_delay` after the first), then one index run over just those paths
(`searchsvc index --path ...` in a child process forked from the watcher's, which has
imported it already: the index lock, the manifest and the time limit are the same as for
the scheduler's runs) makes them searchable. What editors do all
comes down to the paths it touches:

- a file written in place: its modification (and the close after writing);
- a save through a temporary file and a rename: the rename's destination (the temporary
  file itself is hidden, or a name the index skips);
- a folder copied or `rsync`ed in: the folder's creation and its files, one run, one scan
  of that folder (a folder's path makes the run list everything under it);
- a move: both ends; a deletion: the path, whose folder the run lists again.

Events can be dropped (an overflowing inotify queue, a watch limit): the scheduled run
over the whole tree stays the safety net.

A push (`PUT`/`DELETE /admin/documents/<id>`) asks the watcher to run over its path at once
(`watch_socket.py`: no debounce, one run, the push's answer when it ends); the events of
the push's own write then find the file as that run saw it and start nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from searchsvc.config import Config
from searchsvc.exits import EXIT_BUSY
from searchsvc.index import state
from searchsvc.runs import Main, run_forked, start_run, supervise
from searchsvc.watch_socket import Listener, answer_within

log = logging.getLogger(__name__)

MAX_PATHS = 1000  # more changed paths than this in one burst: a run over the whole tree
# The events that change what a path holds; `opened` and `closed_no_write` do not, and a
# folder's `modified` (an entry added or removed in it) comes with the entry's own event.
_KINDS = {"created", "deleted", "modified", "moved", "closed"}
PUSHED_SECONDS = 30.0  # how long the events of a push's own write are recognised
PRELOAD_WAIT = 60.0  # seconds a first run waits for `preload` before it runs unforked


@dataclass
class _Waiter:
    """A push waiting for the run over its paths (watch_socket.py)."""

    lock_wait: float
    taken: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    code: int | None = None


def _signature(path: str) -> tuple[int, int, int] | None:
    """What a file is now, as far as a run would see a change: None when it is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class _Handler(FileSystemEventHandler):  # type: ignore[misc]
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _KINDS:
            return
        if event.is_directory and event.event_type in ("modified", "closed"):
            return
        self.watcher.saw(os.fsdecode(event.src_path))
        if event.event_type == "moved":
            self.watcher.saw(os.fsdecode(event.dest_path))


class Watcher:
    """Watches `content.root` and runs the index over what changed, one burst at a time."""

    def __init__(self, config: Config, index_main: Main) -> None:
        self.config = config
        self.index_main = index_main  # runs.run_forked's `main`
        self.root = os.path.realpath(config.content.root)
        self._pending: dict[str, None] = {}  # ids, in the order first seen
        self._waiters: list[_Waiter] = []  # pushes whose ids are pending
        # Files as pushes left them (id -> signature, monotonic time): their own events.
        self._pushed: dict[str, tuple[tuple[int, int, int] | None, float]] = {}
        self._listener: Any = None
        self._preloading: threading.Thread | None = None
        self._first = 0.0
        self._last = 0.0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._observer: Any = None
        self._thread: threading.Thread | None = None

    def id_of(self, path: str) -> str | None:
        """The id of a path under the root; None for the root itself, a path outside it,
        or a hidden file or folder (editors' temporary files, `.git`)."""
        rel = os.path.relpath(os.path.realpath(os.path.dirname(path)), self.root)
        if rel == os.curdir:
            parts = []
        elif rel.startswith(os.pardir):
            return None
        else:
            parts = rel.split(os.sep)
        parts.append(os.path.basename(path))
        if any(p.startswith(".") or not p for p in parts):
            return None
        return "/".join(parts)

    def saw(self, path: str) -> None:
        doc_id = self.id_of(path)
        if doc_id is None:
            return
        with self._cond:
            pushed = self._pushed.get(doc_id)
        if pushed is not None and pushed[0] == _signature(path):
            return  # the file as a push left it, which a run was asked for already
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first = now
            self._last = now
            self._pending[doc_id] = None
            self._cond.notify()

    def start(self) -> None:
        """Start watching (raises OSError when the root cannot be watched)."""
        self._observer = Observer()
        self._observer.schedule(_Handler(self), self.root, recursive=True)
        self._observer.daemon = True
        self._observer.start()
        self._thread = threading.Thread(target=self._loop, name="watch-runs", daemon=True)
        self._thread.start()
        state.record_watch(self.config.index.dir, running=True, since=time.time())
        log.info("watching %s for changes", self.root)
        self._preloading = threading.Thread(target=preload, name="watch-preload", daemon=True)
        self._preloading.start()
        self._listener = Listener(self.config, self)
        try:
            self._listener.start()
        except OSError as exc:  # pushes then index in processes of their own
            log.warning("pushes cannot reach the watcher (%s): they index alone", exc)
            self._listener = None

    def stop(self, timeout: float = 10.0) -> None:
        if self._listener is not None:
            self._listener.stop()
        self._stop.set()
        with self._cond:
            self._cond.notify()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        state.record_watch(self.config.index.dir, running=False)

    def run_now(self, paths: list[str], lock_wait: float) -> dict[str, Any]:
        """Index these ids (a push's) at once, without the debounce; wait for the run.
        `{"taken": false}` when the watcher's run under way does not end within
        `lock_wait` (it waits for a full rebuild's lock): the ids stay queued.
        `{"taken": true, "code": status}` when their run ended; status EXIT_BUSY when it
        could not have the index within `lock_wait` (the ids were queued again)."""
        ids = [i for i in (self.id_of(os.path.join(self.root, p)) for p in paths) if i]
        waiter = _Waiter(lock_wait)
        with self._cond:
            now = time.monotonic()
            for old in [k for k, (_, t) in self._pushed.items() if now - t > PUSHED_SECONDS]:
                del self._pushed[old]
            if ids and not self._pending:
                self._first = now
            self._last = now
            for doc_id in ids:
                self._pushed[doc_id] = (_signature(os.path.join(self.root, doc_id)), now)
                self._pending[doc_id] = None
            self._waiters.append(waiter)
            self._cond.notify()
        if not waiter.taken.wait(lock_wait):
            with self._cond:
                if not waiter.taken.is_set():  # still queued: a later run takes the ids
                    self._waiters.remove(waiter)
                    return {"taken": False}
        # Past index.run_timeout the run is killed: its end comes within that.
        waiter.done.wait(answer_within(lock_wait, self.config.index.run_timeout) - lock_wait)
        return {"taken": True, "code": waiter.code if waiter.done.is_set() else -1}

    def _next_burst(self) -> tuple[list[str], list[_Waiter]] | None:
        """The paths of the next burst, once it is quiet or a push waits for it, and the
        pushes it answers (None when stopping)."""
        w = self.config.watch
        with self._cond:
            while not self._stop.is_set():
                if not self._pending and not self._waiters:
                    self._cond.wait(timeout=1.0)
                    continue
                now = time.monotonic()
                due = min(self._last + w.debounce, self._first + w.max_delay)
                if now >= due or self._waiters:
                    paths, waiters = list(self._pending), self._waiters
                    self._pending.clear()
                    self._waiters = []
                    for waiter in waiters:
                        waiter.taken.set()
                    return paths, waiters
                self._cond.wait(timeout=due - now)
        return None

    def _loop(self) -> None:
        while (burst := self._next_burst()) is not None:
            paths, waiters = burst
            code = -1
            try:
                code = self._run(paths, waiters) if paths else 0
            except Exception:  # the watcher must outlive any one run
                log.exception("index run over %d changed paths failed to start", len(paths))
            finally:
                for waiter in waiters:
                    waiter.code = code
                    waiter.done.set()

    def _run(self, paths: list[str], waiters: list[_Waiter]) -> int:
        index_dir = self.config.index.dir
        state.record_watch(index_dir, last_fired=time.time(), last_paths=len(paths))
        log.info("index run over %d changed path(s): %s", len(paths), ", ".join(paths[:5]))
        args = [a for p in paths for a in ("--path", p)] if len(paths) <= MAX_PATHS else []
        # A push waits for the index only as long as it was told (then answers 202); a
        # burst of file events as long as a run may take (it is never dropped).
        lock_wait = min((w.lock_wait for w in waiters), default=None)
        if self._forkable():
            code = run_forked(self.config, args, self.index_main, lock_timeout=lock_wait)
        else:
            wait = self.config.index.run_timeout if lock_wait is None else lock_wait
            code = supervise(start_run(self.config, *args, lock_timeout=wait, nice=0), self.config)
        state.record_watch(index_dir, last_status=code)
        if code == EXIT_BUSY and lock_wait is not None:
            log.info("the index is busy: %d changed path(s) queued again", len(paths))
            with self._cond:
                now = time.monotonic()
                if not self._pending:
                    self._first = now
                self._last = now
                for p in paths:
                    self._pending.setdefault(p, None)
                self._cond.notify()
        elif code != 0:
            log.error(
                "index run over changed paths failed (exit %s); the scheduled run will catch up",
                code,
            )
        return code

    def _forkable(self) -> bool:
        """Whether this process can fork a run: not while `preload` imports in its thread
        (a child forked then waits for ever for the module lock that thread held)."""
        if self._preloading is None:
            return True
        self._preloading.join(PRELOAD_WAIT)
        return not self._preloading.is_alive()


def preload() -> None:
    """Import what an index run needs, and load the gazetteer, in this process: a run
    forked from it starts at once. A new Python process spent most of a one-file run
    (about 0.5 s of a 1 s run on the dev corpus) importing and loading these."""
    from searchsvc.index import commit, pool, writing  # noqa: F401
    from searchsvc.parsing.places import default_gazetteer

    default_gazetteer()
