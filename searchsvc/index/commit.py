"""Opening the index for writing, and committing a run: one new generation, or none.

Policies are plain functions, as in Whoosh's own `writing.py`: `merge_policy` says which
segments are merged at a commit. The commit deletes the old versions of the files the run
wrote, keeps (in a full rebuild) the indexed version of files now unreadable, merges,
counts the vocabulary of new segments, records their checksums and writes the table of
contents: searchers see the old generation or the new one, never a half-written one.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.reading import SegmentReader
from whoosh.searching import Searcher
from whoosh.writing import CLEAR, MERGE_SMALL

from searchsvc.content import FileInfo
from searchsvc.index.analysis import FastSegmentWriter
from searchsvc.index.manifest import Entry, Manifest
from searchsvc.index.pool import Result
from searchsvc.index.report import IndexWriteError, Report
from searchsvc.index.schema import make_schema, signature, stored_document, to_fields
from searchsvc.index.verify import check_checksums, record_checksums, segment_files, verify
from searchsvc.index.vocabulary import count_segment, has_counts, save_counts
from searchsvc.index.whoosh_compat import (
    commit_segments,
    finish_segment,
    index_segments,
    merge_segments,
)

log = logging.getLogger(__name__)

DELETED_SHARE = 0.3  # a segment with more deleted documents than this share is rewritten


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


def doc_count(ix: Any, deleted: bool = False) -> int:
    """Documents in the index, from its table of contents (Whoosh's own count opens a
    reader on every segment)."""
    segments = index_segments(ix)
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


def check_before_writing(ix: Any, index_dir: Path) -> Any:
    """A reader on the index as it was, once its structure and checksums are checked:
    a damaged segment would be merged into new ones. One reader for the check and for the
    deletions at the commit: opening a reader on each segment costs a tenth of a second
    at archive size."""
    problem = None
    reader = None
    try:
        reader = ix.reader()
    except Exception as exc:  # any failure to read is damage
        problem = f"{type(exc).__name__}: {exc}"
    problem = problem or verify(ix, reader) or check_checksums(index_dir, ix)
    if problem:
        raise IndexWriteError(
            f"the index at {index_dir} is damaged ({problem}); "
            "rebuild it with `searchsvc index --full`"
        )
    return reader


def commit(
    ix: Any,
    index_dir: Path,
    manifest: Manifest,
    todo: list[FileInfo],
    gone: list[str],
    results: list[Result],
    full: bool,
    report: Report,
    *,
    reader: Any,
    timeout: float,
) -> None:
    """Commit what the workers wrote, deleting the old versions of the files they wrote
    and of the files gone (through `reader`, on the index as it was, when the run opened
    one), and fill in the rest of `report`."""
    written: dict[str, Entry] = {}
    entries: dict[str, Entry] = {}
    for r in results:
        written.update(r.written)
        entries.update(r.entries)
        report.skipped.extend(r.skipped)
    skipped_ids = {i for i, _ in report.skipped}
    # What the manifest said of the files this run touches, before it is updated (a
    # copy of only these: the manifest is loaded in parts).
    old = {i: e for i in {*written, *entries, *gone} if (e := manifest.files.get(i)) is not None}
    writer = FastSegmentWriter(ix, timeout=timeout)
    try:
        manifest.files.update(entries)
        manifest.files.update(written)
        if not full:
            # One searcher (Whoosh opens one per call), on the reader the run checked:
            # the segments the writer holds (the run's lock keeps them as they were).
            with Searcher(reader or writer.reader()) as searcher:  # closes the reader
                for doc_id in list(written) + gone:
                    writer.delete_by_term("id", doc_id, searcher=searcher)
        indexed_before = {i for i, e in old.items() if e.kind in ("event", "source")}
        if full:
            report.kept = _carry_over(ix, writer, skipped_ids)
        else:
            report.kept = sorted(skipped_ids & indexed_before)
        for doc_id in gone:
            manifest.files.pop(doc_id, None)
        _count_changes(report, {f.id for f in todo}, written, gone, old, results)
        segments = _final_segments(ix, writer, index_dir, results, full)
        record_checksums(index_dir, segments, keep=segment_files(ix))
        commit_segments(writer, segments)
    except BaseException:
        # On a full disk, cancelling may fail too: the error that counts is the first.
        with contextlib.suppress(Exception):
            writer.cancel()
        raise
    manifest.save(index_dir)
    fresh = whoosh_index.open_dir(str(index_dir))
    report.documents = doc_count(fresh)
    report.generation = fresh.latest_generation()


def _count_changes(
    report: Report,
    todo_ids: set[str],
    written: dict[str, Entry],
    gone: list[str],
    old: dict[str, Entry],
    results: list[Result],
) -> None:
    """The report's added, updated and deleted documents, and the day pages read."""
    for doc_id in written:
        if doc_id in todo_ids and doc_id not in old:
            report.added.append(doc_id)
        else:
            report.updated.append(doc_id)
    report.deleted = [i for i in gone if old[i].kind in ("event", "source")]
    report.day_pages = sum(1 for r in results for e in r.entries.values() if e.kind == "day")


def _final_segments(
    ix: Any, writer: Any, index_dir: Path, results: list[Result], full: bool
) -> list[Any]:
    """The segments the new generation is made of: the old ones merged as the policy
    says (none kept in a full rebuild), the workers', and the writer's own (documents
    carried over), each with its counts saved beside it."""
    segments = merge_segments(writer, CLEAR if full else merge_policy)
    segments += [r.segment for r in results if r.segment is not None]
    carried = finish_segment(writer)
    if carried is not None:
        segments.append(carried)
    # Merged segments and the carried-over one are counted here, niced, rather
    # than in every web worker while it serves.
    for seg in segments:
        if not has_counts(index_dir, seg):
            seg_reader = SegmentReader(ix.storage, ix.schema, seg)
            try:
                save_counts(index_dir, seg, count_segment(seg_reader))
            finally:
                seg_reader.close()
    return segments


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
        log.warning("earlier versions of skipped files not kept: old index unreadable (%s)", exc)
    return kept
