"""The worker pool of an index run, and the work of one worker.

Each worker process parses its share of the files and writes its own Whoosh segment
(phase 2), or only parses and hands the documents back (phase 1: source texts, whose words
events need). Small runs do the same work in the run's own process.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index

from searchsvc.content import FileInfo
from searchsvc.index.analysis import FastSegmentWriter
from searchsvc.index.links import Links, link_entry, source_words
from searchsvc.index.manifest import Entry
from searchsvc.index.schema import make_schema, stored_document, to_fields
from searchsvc.index.vocabulary import Counts, SegmentCounts, save_counts
from searchsvc.index.whoosh_compat import finish_segment
from searchsvc.model import DayPage, Document, Skipped
from searchsvc.parsing import parse_file

log = logging.getLogger(__name__)


@dataclass
class Task:
    """A worker's share of a phase."""

    index_dir: str
    root: str
    max_bytes: int
    files: list[FileInfo] = field(default_factory=list)  # to parse (and write, in phase 2)
    docs: list[tuple[Document, FileInfo]] = field(default_factory=list)  # parsed in phase 1
    links: Links = field(default_factory=Links)
    parse_only: bool = False  # phase 1: parse and hand the documents back


@dataclass
class Result:
    """What a worker hands back: its segment, and what the manifest should remember."""

    segment: Any = None
    written: dict[str, Entry] = field(default_factory=dict)
    entries: dict[str, Entry] = field(default_factory=dict)  # skipped files and day pages
    skipped: list[tuple[str, str]] = field(default_factory=list)
    parsed: list[tuple[Document, FileInfo]] = field(default_factory=list)  # phase 1


_counter: Any = None  # files done, shared with the run for its progress bar


def _init_worker(counter: Any) -> None:
    global _counter
    _counter = counter


def _start_worker(counter: Any, run_pid: int) -> None:
    """In each worker process: die with the run. A run killed outright (the OOM killer,
    SIGKILL) must not leave workers writing segments that nothing will commit."""
    _init_worker(counter)
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() != run_pid:  # the run died before the line above
            os._exit(1)


def _tick(n: int = 1) -> None:
    if _counter is not None:
        with _counter.get_lock():
            _counter.value += n


def _run_task(task: Task) -> Result:
    """Parse a share of the files and write them, with the documents parsed in phase 1,
    into one new Whoosh segment (in phase 1: only parse, and hand the documents back)."""
    # The posting pool holds millions of small tuples, which the cyclic garbage collector
    # would traverse again and again; nothing here makes reference cycles worth collecting.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        return _run_task_inner(task)
    finally:
        log.debug(
            "task of %d files, %d documents: %.2f s (%.2f s CPU)",
            len(task.files),
            len(task.docs),
            time.perf_counter() - t0,
            time.process_time() - c0,
        )
        if gc_was_enabled:
            gc.enable()


def _run_task_inner(task: Task) -> Result:
    result = Result()
    root = Path(task.root)
    ix = whoosh_index.open_dir(task.index_dir, schema=make_schema())
    writer = None if task.parse_only else FastSegmentWriter(ix, _lk=False, limitmb=256)
    searcher = None
    stored_texts: dict[str, str] = {}
    links = task.links
    counts = Counts()  # the new segment's vocabulary, saved beside it

    def linked_text(doc: Document) -> str:
        nonlocal searcher
        parts = []
        for sid in links.source_ids(doc):
            if sid in links.fresh:
                parts.append(links.fresh[sid])
                continue
            if sid not in stored_texts:  # an unchanged source: its words are in the index
                searcher = searcher or ix.searcher()
                stored = searcher.document(id=sid)
                stored_texts[sid] = source_words(stored_document(stored)) if stored else ""
            parts.append(stored_texts[sid])
        return "\n".join(p for p in parts if p)

    def write(doc: Document, info: FileInfo) -> None:
        assert writer is not None
        text = linked_text(doc) if doc.kind == "event" else ""
        writer.add_document(**to_fields(doc, text))
        counts.add(doc)
        result.written[doc.id] = link_entry(doc, info)

    try:
        for doc, info in task.docs:
            write(doc, info)
            _tick()
        for info in task.files:
            if info.role == "day":
                result.entries[info.id] = Entry(info.mtime_ns, info.size, "day")
                _tick()
                continue
            res = parse_file(Path(info.path), root, info.id, info.role, task.max_bytes)
            if isinstance(res, Skipped):
                result.skipped.append((res.id, res.reason))
                result.entries[info.id] = Entry(info.mtime_ns, info.size, "skipped", res.reason)
            elif isinstance(res, DayPage):
                result.entries[info.id] = Entry(info.mtime_ns, info.size, "day")
            elif writer is None:
                result.parsed.append((res, info))
                continue  # counted when written, in phase 2
            else:
                write(res, info)
            _tick()
        if writer is not None:
            result.segment = finish_segment(writer)
            if result.segment is not None:
                save_counts(Path(task.index_dir), result.segment, SegmentCounts(counts))
    finally:
        if searcher is not None:
            searcher.close()
    return result


class Pool:
    """Runs tasks in worker processes (or in this process for small runs), with a
    progress bar on a terminal. A process pool from concurrent.futures: when a worker
    dies it reports a broken pool at once, where multiprocessing.Pool waits forever."""

    def __init__(self, procs: int, progress: bool, total: int) -> None:
        self.procs = procs
        self.total = total
        self.progress = progress
        self.pool: Any = None
        self.counter: Any = None
        self.bar: Any = None

    def __enter__(self) -> Pool:
        ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        self.counter = ctx.Value("i", 0)
        if self.procs > 0:
            self.pool = ProcessPoolExecutor(
                self.procs,
                mp_context=ctx,
                initializer=_start_worker,
                initargs=(self.counter, os.getpid()),
            )
        else:
            _init_worker(self.counter)
        if self.progress:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="file", desc="indexing", leave=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            if exc[0] is not None:
                # A failed run stops its workers now rather than let them finish segments
                # nobody will commit (the executor has no terminate of its own).
                for proc in list((self.pool._processes or {}).values()):
                    with contextlib.suppress(Exception):
                        proc.kill()
            self.pool.shutdown(wait=True, cancel_futures=exc[0] is not None)
        else:
            _init_worker(None)
        if self.bar is not None:
            self.bar.close()

    def run(
        self,
        base: Task,
        files: list[FileInfo],
        docs: list[tuple[Document, FileInfo]] | None = None,
        links: Links | None = None,
        parse_only: bool = False,
    ) -> list[Result]:
        docs = docs or []
        if not files and not docs:
            return []
        n = max(1, self.procs)
        shares = [
            Task(
                base.index_dir,
                base.root,
                base.max_bytes,
                links=links or Links(),
                parse_only=parse_only,
            )
            for _ in range(n)
        ]
        # Largest first, round robin: shares of about equal work.
        items: list[tuple[int, Any]] = [(f.size, f) for f in files]
        items += [(info.size, (doc, info)) for doc, info in docs]
        items.sort(key=lambda x: -x[0])
        for k, (_, item) in enumerate(items):
            share = shares[k % n]
            if isinstance(item, FileInfo):
                share.files.append(item)
            else:
                share.docs.append(item)
        tasks = [t for t in shares if t.files or t.docs]
        if self.pool is None:
            return [self._watch(lambda t=t: _run_task(t)) for t in tasks]
        futures = [self.pool.submit(_run_task, t) for t in tasks]
        return self._watch(lambda: _wait(futures, self._update))

    def _watch(self, fn: Callable[[], Any]) -> Any:
        out = fn()
        self._update()
        return out

    def _update(self) -> None:
        if self.bar is not None:
            self.bar.n = min(self.counter.value, self.total)
            self.bar.refresh()


def _wait(futures: list[Future[Result]], update: Callable[[], None]) -> list[Result]:
    """The results in order; the first failure (a dead worker: BrokenProcessPool) is
    raised as soon as it happens."""
    pending: set[Future[Result]] = set(futures)
    while pending:
        done, pending = wait_futures(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
        update()
        for f in done:
            if f.exception() is not None:
                raise f.exception()  # type: ignore[misc]
    return [f.result() for f in futures]
