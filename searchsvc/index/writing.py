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
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from filelock import FileLock, Timeout
from whoosh import index as whoosh_index
from whoosh.reading import SegmentReader
from whoosh.searching import Searcher
from whoosh.writing import CLEAR, MERGE_SMALL

from searchsvc.config import Config
from searchsvc.content import ContentError, FileInfo, scan
from searchsvc.index import state
from searchsvc.index.analysis import FastSegmentWriter
from searchsvc.index.cleanup import remove_orphans
from searchsvc.index.manifest import Entry, Manifest
from searchsvc.index.schema import (
    SCHEMA_VERSION,
    make_schema,
    signature,
    stored_document,
    to_fields,
)
from searchsvc.index.verify import check_checksums, record_checksums, segment_files, verify
from searchsvc.index.vocabulary import Counts, SegmentCounts, count_segment, has_counts, save_counts
from searchsvc.model import DayPage, Document, Skipped
from searchsvc.parsing import parse_file

log = logging.getLogger(__name__)

LOCK_NAME = "searchsvc.lock"
DELETED_SHARE = 0.3  # a segment with more deleted documents than this share is rewritten
PARALLEL_FROM = 400  # below this many files to parse, worker processes cost more than they save


class IndexBusy(RuntimeError):
    """Another index run holds the lock."""


class IndexWriteError(RuntimeError):
    """The index cannot be written (or read, to update it)."""


class IndexRunError(IndexWriteError):
    """The run failed part-way for a reason other than the disk: a worker process died."""


@dataclass
class Report:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # skipped, earlier version still indexed
    day_pages: int = 0
    unchanged: int = 0
    documents: int = 0
    generation: int = -1
    full: bool = False
    seconds: float = 0.0

    @property
    def nothing_to_do(self) -> bool:
        return not (self.added or self.updated or self.deleted or self.skipped or self.day_pages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "deleted": len(self.deleted),
            "skipped": [{"id": i, "reason": r} for i, r in self.skipped],
            "kept": self.kept,
            "day_pages": self.day_pages,
            "unchanged": self.unchanged,
            "documents": self.documents,
            "generation": self.generation,
            "full": self.full,
            "seconds": round(self.seconds, 3),
        }

    def lines(self) -> list[str]:
        if self.nothing_to_do:
            return [
                f"nothing to do: {self.unchanged} files unchanged, "
                f"{self.documents} documents in the index ({self.seconds:.2f} s)"
            ]
        out = [
            f"{'full rebuild' if self.full else 'incremental run'}: "
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.deleted)} deleted, "
            f"{len(self.skipped)} skipped, {self.unchanged} unchanged, "
            f"{self.day_pages} day pages; {self.documents} documents in the index "
            f"({self.seconds:.2f} s)"
        ]
        for doc_id, reason in self.skipped:
            kept = " (earlier version kept)" if doc_id in self.kept else ""
            out.append(f"  skipped {doc_id}: {reason}{kept}")
        return out


def run_index(config: Config, full: bool = False, progress: bool | None = None) -> Report:
    """One index run. Raises IndexBusy, IndexWriteError, or ContentError (bad root)."""
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
        report = _Run(config, full, _want_progress(progress)).run()
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


def open_for_writing(index_dir: Path, full: bool, check: bool = True) -> tuple[Any, bool]:
    """(Whoosh index, whether it must be rebuilt from scratch). `check`: read every
    segment's structure first (`verify`), which opens a reader on each."""
    schema = make_schema()
    try:
        if whoosh_index.exists_in(str(index_dir)):
            ix = whoosh_index.open_dir(str(index_dir))
            changed = signature(ix.schema) != signature(schema)
            if changed:
                log.warning("index schema changed: rebuilding the whole index")
            elif not full and check:
                problem = verify(ix)
                if problem:
                    raise IndexWriteError(
                        f"the index at {index_dir} is damaged ({problem}); "
                        "rebuild it with `searchsvc index --full`"
                    )
            # Written with this code's schema: after a schema change, the new segments have
            # it, and the commit that drops the old ones records it.
            return whoosh_index.open_dir(str(index_dir), schema=schema), full or changed
    except IndexWriteError:
        raise
    except Exception as exc:
        if not full:
            raise IndexWriteError(
                f"the index at {index_dir} is unreadable ({type(exc).__name__}: {exc}); "
                "rebuild it with `searchsvc index --full`"
            ) from None
        log.warning("index unreadable (%s): rebuilding from scratch", exc)
        _remove_whoosh_files(index_dir)
    try:
        return whoosh_index.create_in(str(index_dir), schema), True
    except OSError as exc:
        raise IndexWriteError(f"cannot create the index at {index_dir}: {exc}") from None


def _doc_count(ix: Any, deleted: bool = False) -> int:
    """Documents in the index, from its table of contents (Whoosh's own count opens a
    reader on every segment)."""
    segments = ix._segments()
    return sum(s.doc_count_all() if deleted else s.doc_count() for s in segments)


def _remove_whoosh_files(index_dir: Path) -> None:
    for p in index_dir.iterdir():
        if p.name.startswith("_MAIN") or p.name.startswith("MAIN"):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def merge_policy(writer: Any, segments: list[Any]) -> list[Any]:
    """Whoosh's MERGE_SMALL, after dropping segments whose documents were all replaced or
    deleted and rewriting those that are mostly deleted: Whoosh keeps both forever, and
    every search pays for every segment."""
    kept = []
    for seg in segments:
        live = seg.doc_count()
        if live == 0:
            continue
        if seg.deleted_count() > DELETED_SHARE * seg.doc_count_all():
            reader = SegmentReader(writer.storage, writer.schema, seg)
            writer.add_reader(reader)
            reader.close()
        else:
            kept.append(seg)
    return MERGE_SMALL(writer, kept)


def normalize_url(url: str) -> str:
    """URLs that name the same page compare equal: scheme, case of host, `www.`, slash."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


# --- work done in worker processes (or in-process for small runs) -----------------------


@dataclass
class _Links:
    """What phase 2 needs to give each event the words of its source texts."""

    by_event: dict[str, list[str]] = field(default_factory=dict)  # event id -> source ids
    by_url: dict[str, list[str]] = field(default_factory=dict)  # normalized URL -> source ids
    fresh: dict[str, str] = field(default_factory=dict)  # source id -> words (parsed now)


@dataclass
class _Task:
    index_dir: str
    root: str
    max_bytes: int
    files: list[FileInfo] = field(default_factory=list)  # to parse (and write, in phase 2)
    docs: list[tuple[Document, FileInfo]] = field(default_factory=list)  # parsed in phase 1
    links: _Links = field(default_factory=_Links)
    parse_only: bool = False  # phase 1: parse and hand the documents back


@dataclass
class _Result:
    segment: Any = None
    written: dict[str, Entry] = field(default_factory=dict)
    entries: dict[str, Entry] = field(default_factory=dict)  # skipped files and day pages
    skipped: list[tuple[str, str]] = field(default_factory=list)
    parsed: list[tuple[Document, FileInfo]] = field(default_factory=list)  # phase 1


_counter: Any = None


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


def _source_words(doc: Document) -> str:
    return "\n".join(t for t in (doc.title, doc.summary, doc.body) if t)


def _link_entry(doc: Document, info: FileInfo) -> Entry:
    if doc.kind == "event":
        urls = [normalize_url(s.url) for s in doc.sources if s.url]
    else:
        urls = [normalize_url(doc.url)] if doc.url else []
    return Entry(info.mtime_ns, info.size, doc.kind, urls=urls, event=doc.event or "")


def _run_task(task: _Task) -> _Result:
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


def _run_task_inner(task: _Task) -> _Result:
    result = _Result()
    root = Path(task.root)
    ix = whoosh_index.open_dir(task.index_dir, schema=make_schema())
    writer = None if task.parse_only else FastSegmentWriter(ix, _lk=False, limitmb=256)
    searcher = None
    stored_texts: dict[str, str] = {}
    links = task.links
    counts = Counts()  # the new segment's vocabulary, saved beside it

    def linked_text(doc: Document) -> str:
        nonlocal searcher
        ids = list(links.by_event.get(doc.id, ()))
        for s in doc.sources:
            if s.url:
                ids.extend(links.by_url.get(normalize_url(s.url), ()))
        parts = []
        for sid in dict.fromkeys(ids):
            if sid in links.fresh:
                parts.append(links.fresh[sid])
                continue
            if sid not in stored_texts:  # an unchanged source: its words are in the index
                searcher = searcher or ix.searcher()
                stored = searcher.document(id=sid)
                stored_texts[sid] = _source_words(stored_document(stored)) if stored else ""
            parts.append(stored_texts[sid])
        return "\n".join(p for p in parts if p)

    def write(doc: Document, info: FileInfo) -> None:
        assert writer is not None
        text = linked_text(doc) if doc.kind == "event" else ""
        writer.add_document(**to_fields(doc, text))
        counts.add(doc.title, doc.summary, doc.tags, doc.locations, doc.story)
        result.written[doc.id] = _link_entry(doc, info)

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
            if writer._added:
                result.segment = writer._finalize_segment()
                save_counts(Path(task.index_dir), result.segment, SegmentCounts(counts))
            else:
                writer._close_segment()
    finally:
        if searcher is not None:
            searcher.close()
    return result


# --- the run, in the parent process --------------------------------------------------------


class _Run:
    def __init__(self, config: Config, full: bool, progress: bool) -> None:
        self.config = config
        self.full = full
        self.progress = progress
        self.index_dir = config.index.dir
        self.report = Report()
        self.reader: Any = None  # on the index as it was, for the deletions at the commit

    def run(self) -> Report:
        t0 = time.perf_counter()
        files = scan(self.config.content)  # first: a missing root must not touch the index
        # Structure checked below, only when this run writes: opening every segment's
        # reader is most of what a run that finds nothing to do would cost.
        ix, full = open_for_writing(self.index_dir, self.full, check=False)
        self.report.full = full
        manifest = Manifest(schema=SCHEMA_VERSION)
        if not full:
            manifest = Manifest.load(self.index_dir, SCHEMA_VERSION)
            if manifest.empty and _doc_count(ix, deleted=True) > 0:
                log.warning("no usable manifest beside the index: re-reading every file")
        old = manifest.files
        content = self.config.content
        # Only the folders whose listing differs from the manifest's are compared file by
        # file (and only their part of the manifest is read).
        changed, gone = manifest.changes(files)
        todo = [f.classified(content) for f in changed]
        self.report.unchanged = len(files) - len(todo)
        if not todo and not gone and not full:
            if manifest.legacy:
                manifest.save(self.index_dir)  # once, in the layout that loads in parts
            self.report.documents = _doc_count(ix)
            self.report.generation = ix.latest_generation()
            self.report.seconds = time.perf_counter() - t0
            return self.report

        if not full:
            # Before writing over it: a damaged segment would be merged into new ones. One
            # reader for the check and for the deletions at the commit: opening a reader
            # on each segment costs a tenth of a second at archive size.
            problem = None
            try:
                self.reader = ix.reader()
            except Exception as exc:  # any failure to read is damage
                problem = f"{type(exc).__name__}: {exc}"
            problem = problem or verify(ix, self.reader) or check_checksums(self.index_dir, ix)
            if problem:
                raise IndexWriteError(
                    f"the index at {self.index_dir} is damaged ({problem}); "
                    "rebuild it with `searchsvc index --full`"
                )
        todo_ids = {f.id for f in todo}
        # Source texts are read first (phase 1): events need their words. Then each worker
        # writes its share of everything into one segment (phase 2): fewer segments make
        # every search faster.
        phase1 = [f for f in todo if f.role in ("source", "sniff")]
        phase2 = [f for f in todo if f.role not in ("source", "sniff")]
        with _Pool(self._procs(len(todo)), self.progress, len(todo)) as pool:
            base = _Task(str(self.index_dir), str(content.root), content.max_file_bytes)
            t1 = time.perf_counter()
            results1 = pool.run(base, phase1, parse_only=True)
            t2 = time.perf_counter()
            parsed = [item for r in results1 for item in r.parsed]
            sources = {d.id: _link_entry(d, info) for d, info in parsed if d.kind == "source"}
            fresh = {
                d.id: _source_words(d)
                for d, _ in parsed
                if d.kind == "source" and (d.url or d.event)
            }
            links = self._links(manifest.sources(), files, todo_ids, sources, fresh)
            # Unchanged events whose source texts changed, came or went: re-read them too.
            touched = [i for i in gone if old[i].kind == "source"]
            touched += [i for i in todo_ids if i in old and old[i].kind == "source"]
            affected = self._events_linked_to(old, touched, sources, files)
            phase2 += [files[i].classified(content) for i in sorted(affected - todo_ids)]
            results2 = pool.run(base, phase2, docs=parsed, links=links)
        t3 = time.perf_counter()
        results = results1 + results2
        self._commit(ix, manifest, files, todo, gone, results, full)
        log.debug(
            "run timings: scan+plan %.2fs, sources %.2fs, events %.2fs, commit %.2fs",
            t1 - t0,
            t2 - t1,
            t3 - t2,
            time.perf_counter() - t3,
        )
        self.report.seconds = time.perf_counter() - t0
        return self.report

    def _procs(self, n_files: int) -> int:
        if n_files < PARALLEL_FROM:
            return 0
        return self.config.index.procs or os.cpu_count() or 1

    @staticmethod
    def _links(
        old: Mapping[str, Entry],
        files: Mapping[str, FileInfo],
        todo_ids: set[str],
        sources: dict[str, Entry],
        fresh: dict[str, str],
    ) -> _Links:
        """Which source texts belong to which event: the unchanged ones as the manifest
        remembers them, the ones read in this run as they are now."""
        entries = {
            i: e for i, e in old.items() if e.kind == "source" and i in files and i not in todo_ids
        }
        entries.update(sources)
        links = _Links(fresh=fresh)
        for sid, e in entries.items():
            if e.event:
                links.by_event.setdefault(e.event, []).append(sid)
            for u in e.urls:
                links.by_url.setdefault(u, []).append(sid)
        return links

    @staticmethod
    def _events_linked_to(
        old: Mapping[str, Entry],
        source_ids: list[str],
        sources: dict[str, Entry],
        files: Mapping[str, FileInfo],
    ) -> set[str]:
        events: set[str] = set()
        urls: set[str] = set()
        # What the changed or deleted source texts belonged to, and the new versions do.
        for entry in [old[i] for i in source_ids] + list(sources.values()):
            events.add(entry.event)
            urls.update(entry.urls)
        if urls:
            events.update(i for i, e in old.items() if e.kind == "event" and urls & set(e.urls))
        return {i for i in events if i in files and i in old and old[i].kind == "event"}

    def _commit(
        self,
        ix: Any,
        manifest: Manifest,
        files: Mapping[str, FileInfo],
        todo: list[FileInfo],
        gone: list[str],
        results: list[_Result],
        full: bool,
    ) -> None:
        report = self.report
        written: dict[str, Entry] = {}
        entries: dict[str, Entry] = {}
        for r in results:
            written.update(r.written)
            entries.update(r.entries)
            report.skipped.extend(r.skipped)
        skipped_ids = {i for i, _ in report.skipped}
        # What the manifest said of the files this run touches, before it is updated (a
        # copy of only these: the manifest is loaded in parts).
        old = {
            i: e for i in {*written, *entries, *gone} if (e := manifest.files.get(i)) is not None
        }
        writer = FastSegmentWriter(ix, timeout=self.config.index.lock_timeout)
        try:
            manifest.files.update(entries)
            manifest.files.update(written)
            if not full:
                # One searcher (Whoosh opens one per call), on the reader the run checked:
                # the segments the writer holds (the run's lock keeps them as they were).
                with Searcher(self.reader or writer.reader()) as searcher:
                    self.reader = None  # closed with the searcher
                    for doc_id in list(written) + gone:
                        writer.delete_by_term("id", doc_id, searcher=searcher)
            indexed_before = {i for i, e in old.items() if e.kind in ("event", "source")}
            report.kept = sorted(skipped_ids & indexed_before) if not full else []
            if full:
                report.kept = self._carry_over(ix, writer, skipped_ids)
            for doc_id in gone:
                manifest.files.pop(doc_id, None)
            todo_ids = {f.id for f in todo}
            for doc_id in written:
                if doc_id in todo_ids and doc_id not in old:
                    report.added.append(doc_id)
                else:
                    report.updated.append(doc_id)
            report.deleted = [i for i in gone if old[i].kind in ("event", "source")]
            report.day_pages = sum(
                1 for r in results for e in r.entries.values() if e.kind == "day"
            )
            segments = writer._merge_segments(CLEAR if full else merge_policy, None, None)
            segments += [r.segment for r in results if r.segment is not None]
            if writer._added:
                segments.append(writer._finalize_segment())
            else:
                writer._close_segment()
            # Merged segments and the carried-over one are counted here, niced, rather
            # than in every web worker while it serves.
            for seg in segments:
                if not has_counts(self.index_dir, seg):
                    reader = SegmentReader(ix.storage, ix.schema, seg)
                    try:
                        save_counts(self.index_dir, seg, count_segment(reader))
                    finally:
                        reader.close()
            record_checksums(self.index_dir, segments, keep=segment_files(ix))
            writer._commit_toc(segments)
            writer._finish()
        except BaseException:
            # On a full disk, cancelling may fail too: the error that counts is the first.
            with contextlib.suppress(Exception):
                writer.cancel()
            raise
        manifest.save(self.index_dir)
        fresh = whoosh_index.open_dir(str(self.index_dir))
        report.documents = _doc_count(fresh)
        report.generation = fresh.latest_generation()

    @staticmethod
    def _carry_over(ix: Any, writer: Any, skipped: set[str]) -> list[str]:
        """In a full rebuild, keep the indexed version of a file that is now unreadable
        (unless the old index itself cannot be read: rebuilding it is the point then)."""
        kept = []
        try:
            with ix.searcher() as s:
                for doc_id in sorted(skipped):
                    stored = s.document(id=doc_id)
                    if stored:
                        writer.add_document(**to_fields(stored_document(stored)))
                        kept.append(doc_id)
        except Exception as exc:
            log.warning(
                "earlier versions of skipped files not kept: old index unreadable (%s)", exc
            )
        return kept


class _Pool:
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

    def __enter__(self) -> _Pool:
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
        base: _Task,
        files: list[FileInfo],
        docs: list[tuple[Document, FileInfo]] | None = None,
        links: _Links | None = None,
        parse_only: bool = False,
    ) -> list[_Result]:
        docs = docs or []
        if not files and not docs:
            return []
        n = max(1, self.procs)
        shares = [
            _Task(
                base.index_dir,
                base.root,
                base.max_bytes,
                links=links or _Links(),
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


def _wait(futures: list[Future[_Result]], update: Callable[[], None]) -> list[_Result]:
    """The results in order; the first failure (a dead worker: BrokenProcessPool) is
    raised as soon as it happens."""
    pending: set[Future[_Result]] = set(futures)
    while pending:
        done, pending = wait_futures(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
        update()
        for f in done:
            if f.exception() is not None:
                raise f.exception()  # type: ignore[misc]
    return [f.result() for f in futures]
