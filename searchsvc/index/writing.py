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
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from filelock import FileLock, Timeout
from whoosh import index as whoosh_index
from whoosh.writing import CLEAR

from searchsvc.config import Config
from searchsvc.content import FileInfo, scan
from searchsvc.index import state
from searchsvc.index.analysis import FastSegmentWriter
from searchsvc.index.manifest import Entry, Manifest
from searchsvc.index.schema import SCHEMA_VERSION, make_schema, stored_document, to_fields
from searchsvc.model import DayPage, Document, Skipped
from searchsvc.parsing import parse_file

log = logging.getLogger(__name__)

LOCK_NAME = "searchsvc.lock"
PARALLEL_FROM = 400  # below this many files to parse, worker processes cost more than they save


class IndexBusy(RuntimeError):
    """Another index run holds the lock."""


class IndexWriteError(RuntimeError):
    """The index cannot be written (or read, to update it)."""


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
        report = _Run(config, full, _want_progress(progress)).run()
    except BaseException as exc:
        state.record_end(index_dir, started, None, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        lock.release()
    state.record_end(index_dir, started, report.to_dict(), None)
    return report


def index_exists(index_dir: Path) -> bool:
    try:
        return whoosh_index.exists_in(str(index_dir))
    except Exception:
        return False


def _want_progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


def open_for_writing(index_dir: Path, full: bool) -> tuple[Any, bool]:
    """(Whoosh index, whether it must be rebuilt from scratch)."""
    schema = make_schema()
    try:
        if whoosh_index.exists_in(str(index_dir)):
            ix = whoosh_index.open_dir(str(index_dir))
            if sorted(ix.schema.names()) != sorted(schema.names()):
                log.warning("index schema changed: rebuilding the whole index")
                return ix, True
            return ix, full
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


def _remove_whoosh_files(index_dir: Path) -> None:
    for p in index_dir.iterdir():
        if p.name.startswith("_MAIN") or p.name.startswith("MAIN"):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def normalize_url(url: str) -> str:
    """URLs that name the same page compare equal: scheme, case of host, `www.`, slash."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


# --- work done in worker processes (or in-process for small runs) -----------------------


@dataclass
class _Task:
    index_dir: str
    root: str
    max_bytes: int
    files: list[FileInfo]
    docs: list[Document] = field(default_factory=list)  # already parsed (sniffed events)
    # For events: source ids by event id and by URL, texts of sources parsed this run.
    by_event: dict[str, list[str]] = field(default_factory=dict)
    by_url: dict[str, list[str]] = field(default_factory=dict)
    fresh: dict[str, str] = field(default_factory=dict)
    defer_events: bool = False  # phase 1: hand events back instead of writing them


@dataclass
class _Result:
    segment: Any = None
    written: dict[str, Entry] = field(default_factory=dict)
    entries: dict[str, Entry] = field(default_factory=dict)  # skipped and day pages
    skipped: list[tuple[str, str]] = field(default_factory=list)
    deferred: list[Document] = field(default_factory=list)
    source_texts: dict[str, str] = field(default_factory=dict)  # linked sources only


_counter: Any = None


def _init_worker(counter: Any) -> None:
    global _counter
    _counter = counter


def _tick(n: int = 1) -> None:
    if _counter is not None:
        with _counter.get_lock():
            _counter.value += n


def _source_words(doc: Document) -> str:
    return "\n".join(t for t in (doc.title, doc.summary, doc.body) if t)


def _run_task(task: _Task) -> _Result:
    ix = whoosh_index.open_dir(task.index_dir)
    writer = FastSegmentWriter(ix, _lk=False, limitmb=256)
    result = _Result()
    root = Path(task.root)
    stored_texts: dict[str, str] = {}
    searcher = None

    def linked_text(doc: Document) -> str:
        nonlocal searcher
        ids = list(task.by_event.get(doc.id, ()))
        for s in doc.sources:
            if s.url:
                ids.extend(task.by_url.get(normalize_url(s.url), ()))
        parts = []
        for sid in dict.fromkeys(ids):
            if sid in task.fresh:
                parts.append(task.fresh[sid])
                continue
            if sid not in stored_texts:
                searcher = searcher or ix.searcher()
                stored = searcher.document(id=sid)
                stored_texts[sid] = _source_words(stored_document(stored)) if stored else ""
            parts.append(stored_texts[sid])
        return "\n".join(p for p in parts if p)

    def write(doc: Document, info: FileInfo) -> None:
        text = linked_text(doc) if doc.kind == "event" else ""
        writer.add_document(**to_fields(doc, text))
        urls = [normalize_url(s.url) for s in doc.sources if s.url] if doc.kind == "event" else []
        if doc.kind == "source" and doc.url:
            urls = [normalize_url(doc.url)]
        if doc.kind == "source" and (doc.url or doc.event):
            result.source_texts[doc.id] = _source_words(doc)
        result.written[doc.id] = Entry(
            info.mtime_ns, info.size, doc.kind, urls=urls, event=doc.event or ""
        )

    try:
        by_id = {f.id: f for f in task.files}
        for doc in task.docs:
            write(doc, by_id[doc.id])
        parsed_ids = {d.id for d in task.docs}
        for info in task.files:
            if info.id in parsed_ids:
                continue
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
            elif res.kind == "event" and task.defer_events:
                result.deferred.append(res)
            else:
                write(res, info)
            _tick()
        if writer._added:
            result.segment = writer._finalize_segment()
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

    def run(self) -> Report:
        t0 = time.perf_counter()
        files = scan(self.config.content)  # first: a missing root must not touch the index
        ix, full = open_for_writing(self.index_dir, self.full)
        self.report.full = full
        manifest = Manifest(schema=SCHEMA_VERSION)
        if not full:
            manifest = Manifest.load(self.index_dir, SCHEMA_VERSION)
            if not manifest.files and ix.doc_count_all() > 0:
                log.warning("no usable manifest beside the index: re-reading every file")
        old = manifest.files
        content = self.config.content
        todo = [
            f.classified(content)
            for i, f in files.items()
            if i not in old or old[i].stamp != (f.mtime_ns, f.size)
        ]
        gone = [i for i in old if i not in files]
        self.report.unchanged = len(files) - len(todo)
        if not todo and not gone and not full:
            self.report.documents = ix.doc_count()
            self.report.generation = ix.latest_generation()
            self.report.seconds = time.perf_counter() - t0
            return self.report

        # Which unchanged events must be re-indexed because their source texts changed.
        touched_sources = [i for i in gone if old[i].kind == "source"]
        touched_sources += [f.id for f in todo if f.id in old and old[f.id].kind == "source"]
        phase1 = [f for f in todo if f.role in ("source", "sniff")]
        phase2 = [f for f in todo if f.role not in ("source", "sniff")]

        with _Pool(self._procs(len(todo)), self.progress, len(todo)) as pool:
            base = _Task(
                str(self.index_dir),
                str(self.config.content.root),
                self.config.content.max_file_bytes,
                [],
            )
            t1 = time.perf_counter()
            results1 = pool.run(base, phase1, defer_events=True)
            t2 = time.perf_counter()
            by_event, by_url, fresh = self._links(old, files, results1)
            affected = self._events_linked_to(old, touched_sources, results1, files)
            todo_ids = {f.id for f in todo}
            phase2 += [files[i].classified(content) for i in affected if i not in todo_ids]
            deferred = [d for r in results1 for d in r.deferred]
            results2 = pool.run(
                base,
                phase2,
                docs=deferred,
                by_event=by_event,
                by_url=by_url,
                fresh=fresh,
                deferred_files=[f for f in phase1 if f.id in {d.id for d in deferred}],
            )
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
        old: dict[str, Entry], files: dict[str, FileInfo], results: list[_Result]
    ) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, str]]:
        entries = {i: e for i, e in old.items() if i in files and e.kind == "source"}
        for r in results:
            for i in list(r.entries) + list(r.written):
                entries.pop(i, None)
            entries.update({i: e for i, e in r.written.items() if e.kind == "source"})
        by_event: dict[str, list[str]] = defaultdict(list)
        by_url: dict[str, list[str]] = defaultdict(list)
        for sid, e in entries.items():
            if e.event:
                by_event[e.event].append(sid)
            for u in e.urls:
                by_url[u].append(sid)
        fresh = {i: t for r in results for i, t in r.source_texts.items()}
        return dict(by_event), dict(by_url), fresh

    @staticmethod
    def _events_linked_to(
        old: dict[str, Entry],
        source_ids: list[str],
        results: list[_Result],
        files: dict[str, FileInfo],
    ) -> set[str]:
        events: set[str] = set()
        urls: set[str] = set()
        for sid in source_ids:
            e = old[sid]
            if e.event:
                events.add(e.event)
            urls.update(e.urls)
        for r in results:
            for e in r.written.values():
                if e.kind == "source":
                    if e.event:
                        events.add(e.event)
                    urls.update(e.urls)
        if urls:
            events.update(i for i, e in old.items() if e.kind == "event" and urls & set(e.urls))
        return {i for i in events if i in files and old.get(i) and old[i].kind == "event"}

    def _commit(
        self,
        ix: Any,
        manifest: Manifest,
        files: dict[str, FileInfo],
        todo: list[FileInfo],
        gone: list[str],
        results: list[_Result],
        full: bool,
    ) -> None:
        old = dict(manifest.files)
        report = self.report
        writer = FastSegmentWriter(ix, timeout=self.config.index.lock_timeout)
        try:
            written: dict[str, Entry] = {}
            for r in results:
                written.update(r.written)
                manifest.files.update(r.entries)
                report.skipped.extend(r.skipped)
            manifest.files.update(written)
            if not full:
                for doc_id in list(written) + gone:
                    writer.delete_by_term("id", doc_id)
            skipped_ids = {i for i, _ in report.skipped}
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
            segments = writer._merge_segments(CLEAR if full else None, None, None)
            segments += [r.segment for r in results if r.segment is not None]
            if writer._added:
                segments.append(writer._finalize_segment())
            else:
                writer._close_segment()
            writer._commit_toc(segments)
            writer._finish()
        except BaseException:
            writer.cancel()
            raise
        manifest.save(self.index_dir)
        fresh = whoosh_index.open_dir(str(self.index_dir))
        report.documents = fresh.doc_count()
        report.generation = fresh.latest_generation()

    @staticmethod
    def _carry_over(ix: Any, writer: Any, skipped: set[str]) -> list[str]:
        """In a full rebuild, keep the indexed version of a file that is now unreadable."""
        kept = []
        with ix.searcher() as s:
            for doc_id in sorted(skipped):
                stored = s.document(id=doc_id)
                if stored:
                    writer.add_document(**to_fields(stored_document(stored)))
                    kept.append(doc_id)
        return kept


class _Pool:
    """Runs tasks in worker processes (or in this process for small runs), with a
    progress bar on a terminal."""

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
            self.pool = ctx.Pool(self.procs, initializer=_init_worker, initargs=(self.counter,))
        else:
            _init_worker(self.counter)
        if self.progress:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="file", desc="indexing", leave=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            if exc[0] is None:
                self.pool.close()
            else:
                self.pool.terminate()
            self.pool.join()
        else:
            _init_worker(None)
        if self.bar is not None:
            self.bar.close()

    def run(
        self,
        base: _Task,
        files: list[FileInfo],
        docs: list[Document] | None = None,
        deferred_files: Iterable[FileInfo] = (),
        **kwargs: Any,
    ) -> list[_Result]:
        docs = docs or []
        if not files and not docs:
            return []
        n = max(1, self.procs)
        shares: list[list[FileInfo]] = [[] for _ in range(n)]
        # Largest first, round robin: shares of about equal work.
        for k, f in enumerate(sorted(files, key=lambda f: -f.size)):
            shares[k % n].append(f)
        doc_shares: list[list[Document]] = [docs[k::n] for k in range(n)]
        extra = {f.id: f for f in deferred_files}
        tasks = []
        for k in range(n):
            share = shares[k] + [extra[d.id] for d in doc_shares[k]]
            if share:
                tasks.append(
                    _Task(
                        base.index_dir,
                        base.root,
                        base.max_bytes,
                        share,
                        docs=doc_shares[k],
                        **kwargs,
                    )
                )
        if self.pool is None:
            return [self._watch(lambda t=t: _run_task(t)) for t in tasks]
        pending = self.pool.map_async(_run_task, tasks)
        return self._watch(lambda: _wait(pending, self._update))

    def _watch(self, fn: Callable[[], Any]) -> Any:
        out = fn()
        self._update()
        return out

    def _update(self) -> None:
        if self.bar is not None:
            self.bar.n = min(self.counter.value, self.total)
            self.bar.refresh()


def _wait(pending: Any, update: Callable[[], None]) -> Any:
    while True:
        try:
            return pending.get(timeout=0.2)
        except multiprocessing.TimeoutError:
            update()
