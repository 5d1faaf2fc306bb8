"""Following the content tree live: the operating system's file events -> index runs.

The watcher runs in the scheduler's process (`searchsvc serve` starts one, whatever the
number of web workers; `searchsvc schedule` is that process alone), so one process on the
machine watches. `watchdog` (inotify on Linux) reports each change; the changed paths
are gathered until `watch.debounce` seconds pass without a new one (at most
`watch.max_delay` after the first), then one index run over just those paths
(`searchsvc index --path ...`, a child process like the scheduler's runs: the index lock,
the manifest and the time limit are the same) makes them searchable. What editors do all
comes down to the paths it touches:

- a file written in place: its modification (and the close after writing);
- a save through a temporary file and a rename: the rename's destination (the temporary
  file itself is hidden, or a name the index skips);
- a folder copied or `rsync`ed in: the folder's creation and its files, one run, one scan
  of that folder (a folder's path makes the run list everything under it);
- a move: both ends; a deletion: the path, whose folder the run lists again.

Events can be dropped (an overflowing inotify queue, a watch limit): the scheduled run
over the whole tree stays the safety net.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from searchsvc.config import Config
from searchsvc.index import state

log = logging.getLogger(__name__)

MAX_PATHS = 1000  # more changed paths than this in one burst: a run over the whole tree
# The events that change what a path holds; `opened` and `closed_no_write` do not, and a
# folder's `modified` (an entry added or removed in it) comes with the entry's own event.
_KINDS = {"created", "deleted", "modified", "moved", "closed"}


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

    def __init__(self, config: Config) -> None:
        self.config = config
        self.root = os.path.realpath(config.content.root)
        self._pending: dict[str, None] = {}  # ids, in the order first seen
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

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        state.record_watch(self.config.index.dir, running=False)

    def _next_burst(self) -> list[str] | None:
        """The paths of the next burst, once it is quiet (None when stopping)."""
        w = self.config.watch
        with self._cond:
            while not self._stop.is_set():
                if not self._pending:
                    self._cond.wait(timeout=1.0)
                    continue
                now = time.monotonic()
                due = min(self._last + w.debounce, self._first + w.max_delay)
                if now >= due:
                    paths = list(self._pending)
                    self._pending.clear()
                    return paths
                self._cond.wait(timeout=due - now)
        return None

    def _loop(self) -> None:
        while (paths := self._next_burst()) is not None:
            try:
                self._run(paths)
            except Exception:  # the watcher must outlive any one run
                log.exception("index run over %d changed paths failed to start", len(paths))

    def _run(self, paths: list[str]) -> None:
        # Imported here: the scheduler module imports this one.
        from searchsvc.scheduler import start_run, supervise

        index_dir = self.config.index.dir
        state.record_watch(index_dir, last_fired=time.time(), last_paths=len(paths))
        log.info("index run over %d changed path(s): %s", len(paths), ", ".join(paths[:5]))
        args = [a for p in paths for a in ("--path", p)] if len(paths) <= MAX_PATHS else []
        # Waits for the lock as long as a run under way may take: a burst is never dropped
        # for a full rebuild. A small run at normal priority: it is the latency readers see.
        proc = start_run(self.config, *args, lock_timeout=self.config.index.run_timeout, nice=0)
        code = supervise(proc, self.config)
        state.record_watch(index_dir, last_status=code)
        if code != 0:
            log.error(
                "index run over changed paths failed (exit %s); the scheduled run will catch up",
                code,
            )
