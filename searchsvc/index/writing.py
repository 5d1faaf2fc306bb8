"""Index runs: the content tree -> the Whoosh index, incrementally and in parallel.

A run, under a file lock so that only one runs at a time on the machine:

1. scans the tree and compares it with the manifest of the last run: new and changed
   files are parsed, files gone from the tree are deleted, unchanged files are not read;
2. parses source texts first (phase 1), because an event is also found by the words of
   the source texts that belong to it; then events (phase 2), with those words at hand;
3. has each worker process parse its share and write its own Whoosh segment, then commits
   all segments in one new index generation: searchers see the old index or the new one,
   never a half-written one (a full rebuild replaces the old segments only at that commit).

A bad file is skipped with its reason; if an earlier version of it is in the index, that
version stays.

A run that fails (a full disk, an I/O error, a worker process killed) fails alone: the last
committed generation stays as it was, the error is one line (IndexWriteError, or its
IndexRunError), and the files the run wrote are removed (`cleanup.py`; also at the start of
every run, for runs killed outright).

The run is here (scan, plan, phases); the worker processes and the work of one worker are
in `pool.py`, which source texts belong to which event in `links.py`, opening the index
and committing in `commit.py`, the report and the errors in `report.py`.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from whoosh import index as whoosh_index

from searchsvc.config import Config
from searchsvc.content import ContentError, FileInfo, Tree, scan, scan_paths
from searchsvc.index import state
from searchsvc.index.cleanup import remove_orphans
from searchsvc.index.commit import check_before_writing, commit, doc_count, open_for_writing
from searchsvc.index.links import events_linked_to, gather_links, link_entry, source_words
from searchsvc.index.manifest import Manifest
from searchsvc.index.pool import Pool, Result, Task
from searchsvc.index.report import IndexBusy, IndexRunError, IndexWriteError, Report
from searchsvc.index.schema import SCHEMA_VERSION
from searchsvc.index.verify import check_checksums, verify

log = logging.getLogger(__name__)

LOCK_NAME = "searchsvc.lock"
PARALLEL_FROM = 400  # below this many files to parse, worker processes cost more than they save


def run_index(
    config: Config,
    full: bool = False,
    progress: bool | None = None,
    paths: Sequence[str] | None = None,
) -> Report:
    """One index run. Raises IndexBusy, IndexWriteError, or ContentError (bad root).

    `paths` (ids of files or folders that changed, as a file watcher or a push saw them):
    only their folders are scanned, not the whole tree; the rest is taken as the manifest
    has it (the scheduled run over the whole tree catches what such a run could miss)."""
    index_dir = config.index.dir
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(index_dir / LOCK_NAME), timeout=config.index.lock_timeout)
        lock.acquire()
    except Timeout:
        raise IndexBusy(
            f"the index at {index_dir} is busy: another run has held it for "
            f"{config.index.lock_timeout:g} s"
        ) from None
    except OSError as exc:
        raise IndexWriteError(f"cannot write the index at {index_dir}: {exc}") from None
    started = time.time()
    state.record_start(index_dir, started)
    try:
        remove_orphans(index_dir)  # what runs killed outright left behind
        report = _Run(config, full, _want_progress(progress), paths).run()
    except BaseException as exc:
        failure = _as_run_error(exc, index_dir)
        remove_orphans(index_dir)  # what this run wrote: the last generation stays as it was
        state.record_end(index_dir, started, None, f"{type(failure).__name__}: {failure}")
        if failure is exc:
            raise
        raise failure from None
    finally:
        lock.release()
    state.record_end(index_dir, started, report.to_dict(), None)
    return report


def _as_run_error(exc: BaseException, index_dir: Path) -> BaseException:
    """The error a user is told, in one line: a full disk or an I/O error is "cannot
    write"; a dead worker is a failed run. Anything else stays as it is (a bug)."""
    if isinstance(exc, OSError) and not isinstance(exc, ContentError):
        return IndexWriteError(f"cannot write the index at {index_dir}: {exc}")
    if isinstance(exc, BrokenProcessPool):
        return IndexRunError(
            "an index worker process died (killed, or out of memory?); "
            "the run was abandoned and the index is as it was"
        )
    return exc


def index_busy(index_dir: Path) -> bool:
    """True while an index run holds the lock (from any process on this machine)."""
    lock = FileLock(str(index_dir / LOCK_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    except OSError:
        return False
    lock.release()
    return False


def index_problem(index_dir: Path) -> str | None:
    """None when the index opens, reads and matches its checksums; else what is wrong."""
    try:
        ix = whoosh_index.open_dir(str(index_dir))
        return verify(ix) or check_checksums(index_dir, ix)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def index_exists(index_dir: Path) -> bool:
    try:
        return whoosh_index.exists_in(str(index_dir))
    except Exception:
        return False


def _want_progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


# --- the run, in the parent process --------------------------------------------------------


@dataclass
class _Plan:
    """What a run found to do: the index open for writing, the manifest of the last run,
    the content tree, and the files new or changed (`todo`) and gone since."""

    ix: Any
    full: bool
    manifest: Manifest
    files: Tree
    todo: list[FileInfo]
    gone: list[str]


class _Run:
    def __init__(
        self, config: Config, full: bool, progress: bool, paths: Sequence[str] | None
    ) -> None:
        self.config = config
        self.paths = None if full else paths
        self.full = full
        self.progress = progress
        self.index_dir = config.index.dir
        self.report = Report()

    def run(self) -> Report:
        t0 = time.perf_counter()
        plan = self._plan()
        if not plan.todo and not plan.gone and not plan.full:
            if plan.manifest.legacy:
                plan.manifest.save(self.index_dir)  # once, in the layout that loads in parts
            self.report.documents = doc_count(plan.ix)
            self.report.generation = plan.ix.latest_generation()
            self.report.seconds = time.perf_counter() - t0
            return self.report
        # On the index as it was, checked before writing over it; for the deletions at
        # the commit.
        reader = None if plan.full else check_before_writing(plan.ix, self.index_dir)
        t1 = time.perf_counter()
        results, t2 = self._parse(plan)
        t3 = time.perf_counter()
        commit(
            plan.ix,
            self.index_dir,
            plan.manifest,
            plan.todo,
            plan.gone,
            results,
            plan.full,
            self.report,
            reader=reader,
            timeout=self.config.index.lock_timeout,
        )
        log.debug(
            "run timings: scan+plan %.2fs, sources %.2fs, events %.2fs, commit %.2fs",
            t1 - t0,
            t2 - t1,
            t3 - t2,
            time.perf_counter() - t3,
        )
        self.report.seconds = time.perf_counter() - t0
        return self.report

    def _plan(self) -> _Plan:
        """The content scanned and compared with the manifest of the last run."""
        # First: a missing root must not touch the index.
        if self.paths is not None:
            files = scan_paths(self.config.content, self.paths)
        else:
            files = scan(self.config.content)
        # Structure checked later, only when this run writes: opening every segment's
        # reader is most of what a run that finds nothing to do would cost.
        ix, full = open_for_writing(self.index_dir, self.full, check=False)
        self.report.full = full
        manifest = Manifest(schema=SCHEMA_VERSION)
        if not full:
            manifest = Manifest.load(self.index_dir, SCHEMA_VERSION)
            if manifest.empty and doc_count(ix, deleted=True) > 0:
                log.warning("no usable manifest beside the index: re-reading every file")
        if (full or manifest.empty) and files.scope is not None:
            # Nothing to compare the part with: the whole tree, or the index would hold
            # only these paths.
            files = scan(self.config.content)
        # Only the folders whose listing differs from the manifest's are compared file by
        # file (and only their part of the manifest is read).
        changed, gone = manifest.changes(files)
        todo = [f.classified(self.config.content) for f in changed]
        self.report.unchanged = len(files) - len(todo)
        return _Plan(ix, full, manifest, files, todo, gone)

    def _parse(self, plan: _Plan) -> tuple[list[Result], float]:
        """The workers' results for the files to do (each worker's share written into a
        segment of its own), and when the source texts were done."""
        content, old, files = self.config.content, plan.manifest.files, plan.files
        todo_ids = {f.id for f in plan.todo}
        # Source texts are read first (phase 1): events need their words. Then each worker
        # writes its share of everything into one segment (phase 2): fewer segments make
        # every search faster.
        phase1 = [f for f in plan.todo if f.role in ("source", "sniff")]
        phase2 = [f for f in plan.todo if f.role not in ("source", "sniff")]
        with Pool(self._procs(len(plan.todo)), self.progress, len(plan.todo)) as pool:
            base = Task(str(self.index_dir), str(content.root), content.max_file_bytes)
            results1 = pool.run(base, phase1, parse_only=True)
            sources_done = time.perf_counter()
            parsed = [item for r in results1 for item in r.parsed]
            sources = {d.id: link_entry(d, info) for d, info in parsed if d.kind == "source"}
            fresh = {
                d.id: source_words(d)
                for d, _ in parsed
                if d.kind == "source" and (d.url or d.event)
            }
            links = gather_links(plan.manifest.sources(), files, todo_ids, sources, fresh)
            # Unchanged events whose source texts changed, came or went: re-read them too.
            touched = [i for i in plan.gone if old[i].kind == "source"]
            touched += [i for i in todo_ids if i in old and old[i].kind == "source"]
            affected = events_linked_to(old, touched, sources, files)
            phase2 += [files[i].classified(content) for i in sorted(affected - todo_ids)]
            results2 = pool.run(base, phase2, docs=parsed, links=links)
        return results1 + results2, sources_done

    def _procs(self, n_files: int) -> int:
        if n_files < PARALLEL_FROM:
            return 0
        return self.config.index.procs or os.cpu_count() or 1
