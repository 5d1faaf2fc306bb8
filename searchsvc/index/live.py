"""The live index: opened and checked once, a searcher per thread, moved to each new
generation once it is prepared.

`LiveIndex` is safe to share between threads: each thread gets its own Whoosh searcher,
and moves to the newest committed generation at most `REFRESH_SECONDS` after a commit.
A new generation's checksums and this process's caches of it (tables, vocabulary) are
prepared off the request path; until they are ready, requests keep the generation they
have. The vocabulary of completions follows at most every `search.vocabulary_refresh` s.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index

from searchsvc.config import Config
from searchsvc.index.tables import TableCache
from searchsvc.index.verify import check_checksums, verify
from searchsvc.index.vocabulary import VocabularyCache
from searchsvc.index.whoosh_compat import latest_generation, searcher_index

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.5
# The vocabulary (completions, corrections, label spellings) is built at most once per
# `search.vocabulary_refresh` seconds per process, of the newest generation then: a build
# is a quarter of a second of Python (dev corpus) that the worker's requests wait for the
# GIL behind, and live edits make a generation every second or two (bench/live_bench.py).


class IndexUnavailable(RuntimeError):
    """There is no usable index (missing, unreadable, or being created)."""


class LiveIndex:
    """The index as it is now, for the threads of one process."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.index_dir: Path = config.index.dir
        self._local = threading.local()
        self._lock = threading.Lock()
        self._ix: Any = None
        self._ready_generation = -1  # the newest generation prepared to serve
        self._preparing: threading.Thread | None = None
        self.tables = TableCache()
        self._checked: set[str] = set()  # segment files whose checksums were checked
        self.vocabulary = VocabularyCache(self.index_dir)
        self._vocabulary_due = False  # a build is scheduled
        self._vocabulary_began = -1e9  # monotonic time of the last build

    # --- opening and refreshing ----------------------------------------------------------

    def _index(self) -> Any:
        with self._lock:
            if self._ix is None:
                # Reasons for clients name no path: the details go to the log.
                try:
                    if not whoosh_index.exists_in(str(self.index_dir)):
                        raise IndexUnavailable("no index yet: run `searchsvc index` to build it")
                    ix = whoosh_index.open_dir(str(self.index_dir))
                except IndexUnavailable:
                    raise
                except Exception as exc:
                    log.error("cannot open the index at %s: %s", self.index_dir, exc)
                    raise IndexUnavailable(
                        "the index cannot be opened; see the server log"
                    ) from None
                problem = verify(ix) or check_checksums(self.index_dir, ix, self._checked)
                if problem:
                    log.error("the index at %s is damaged: %s", self.index_dir, problem)
                    raise IndexUnavailable(
                        "the index is damaged: rebuild it with `searchsvc index --full`"
                    )
                self._ix = ix
            return self._ix

    def searcher(self) -> Any:
        """This thread's searcher, moved to the newest generation when one was committed."""
        local = self._local
        s = getattr(local, "searcher", None)
        now = time.monotonic()
        if s is not None and now - local.checked < REFRESH_SECONDS:
            return s
        try:
            if s is None:
                s = self._index().searcher()
            elif not s.up_to_date() and self._prepared(s):
                s = s.refresh()
                problem = check_checksums(self.index_dir, searcher_index(s), self._checked)
                if problem:
                    log.error("the index at %s is damaged: %s", self.index_dir, problem)
                    with self._lock:
                        self._ix = None  # reopened (and checked again) on the next request
                    raise IndexUnavailable(
                        "the index is damaged: rebuild it with `searchsvc index --full`"
                    )
        except IndexUnavailable:
            local.searcher = None
            raise
        except Exception as exc:
            local.searcher = None
            with self._lock:
                self._ix = None
            log.error("cannot read the index at %s: %s", self.index_dir, exc)
            raise IndexUnavailable("the index cannot be read (is its directory there?)") from None
        # The time of the last check, not of the last use: a busy thread checks too.
        local.searcher, local.checked = s, now
        return s

    def _prepared(self, s: Any) -> bool:
        """Whether the newest generation is ready to serve: its segments checked and this
        process's tables of it built. If not, a thread prepares it and, meanwhile, requests
        keep the generation they have: building the tables on the request path stalled
        every worker for a second or more at each switch (bench/load_bench.py)."""
        latest = latest_generation(s)
        with self._lock:
            if self._ready_generation >= latest:
                return True
            if self._preparing is None or not self._preparing.is_alive():
                self._preparing = threading.Thread(
                    target=self._prepare, args=(latest,), daemon=True
                )
                self._preparing.start()
        return False

    def _prepare(self, latest: int) -> None:
        gen = latest
        try:
            ix = self._index()
            with ix.searcher() as searcher:
                gen = searcher.reader().generation()
                # A damage found here is reported by the request that switches.
                if not check_checksums(self.index_dir, ix, self._checked):
                    self.tables.get(searcher)
                    with self._lock:
                        self._ready_generation = max(self._ready_generation, gen)
                    # The vocabulary once the generation is served: completions are not
                    # tied to document numbers, so the previous one serves meanwhile. Built
                    # before, it delayed every switch by a quarter of a second of Python
                    # (dev corpus), which is most of the wait for a one-file change.
                    self._schedule_vocabulary()
                    gc.freeze()
        except Exception as exc:  # the switching request reports what is wrong
            log.warning("could not prepare the new index generation: %s", exc)
        with self._lock:
            self._ready_generation = max(self._ready_generation, gen)

    def _schedule_vocabulary(self) -> None:
        """Build the newest generation's vocabulary now, or `search.vocabulary_refresh`
        seconds after the last build began: generations that come faster share one build."""
        with self._lock:
            if self._vocabulary_due:
                return  # the build scheduled takes the newest generation there is then
            self._vocabulary_due = True
            every = self.config.search.vocabulary_refresh
            delay = self._vocabulary_began + every - time.monotonic()
        timer = threading.Timer(max(0.0, delay), self._build_vocabulary)
        timer.daemon = True
        timer.start()

    def _build_vocabulary(self) -> None:
        with self._lock:
            # A generation committed from here on schedules the next build.
            self._vocabulary_due = False
            self._vocabulary_began = time.monotonic()
        try:
            with self._index().searcher() as searcher:
                self.vocabulary.build(searcher)
            gc.freeze()
        except Exception as exc:  # completions keep the vocabulary they have
            log.warning("could not build the vocabulary of the new index generation: %s", exc)

    # --- caches ------------------------------------------------------------------------------

    def warm(self) -> None:
        """Build this process's caches (tables, vocabulary) before the first request
        needs them; a missing index is not an error here."""
        with contextlib.suppress(IndexUnavailable):
            self._build_caches(self.searcher())

    def _build_caches(self, searcher: Any) -> None:
        """This process's tables and vocabulary of the searcher's generation. They live as
        long as the generation, so they are moved out of the cyclic garbage collector's
        sight: its full passes over them (every few seconds under load) paused the worker
        for 50-100 ms each. They hold no reference cycles, so they are still freed when
        their generation is dropped."""
        self.tables.get(searcher)
        self.vocabulary.build(searcher)
        gc.freeze()
