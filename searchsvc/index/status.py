"""What the index tells operators: `/health`, `/stats`, and a query host's lag behind
its source. A part of `SearchIndex` (as `live.py` and `compile.py` are), apart from the
searches: it reads the searcher, the records of the runs, the watcher and the follower
beside the index, the watched files and the answer cache.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from searchsvc.config import Config
from searchsvc.index import state
from searchsvc.index.answers import AnswerCache
from searchsvc.index.follow import read_state as read_follow_state
from searchsvc.index.live import IndexUnavailable
from searchsvc.index.pins import Pins, PinsReport
from searchsvc.index.synonyms import Synonyms
from searchsvc.index.watched import WatchedFile


class IndexStatus:
    """/health and /stats of a `SearchIndex`, which provides what is declared here."""

    config: Config
    index_dir: Path
    answers: AnswerCache
    synonyms: WatchedFile[Synonyms]
    pins: WatchedFile[Pins]
    pins_report: PinsReport

    def searcher(self) -> Any:
        raise NotImplementedError  # LiveIndex's

    def health(self) -> dict[str, Any]:
        searcher = self.searcher()
        if not os.access(self.index_dir, os.W_OK):
            # Searches go on from the index there is; new content cannot get in.
            raise IndexUnavailable("the index directory is read-only: index runs cannot update it")
        self.check_follow(generation_of(searcher))
        return {
            "status": "ok",
            "documents": searcher.doc_count(),
            "generation": generation_of(searcher),
        }

    def check_follow(self, generation: int) -> None:
        """A query host that cannot keep up with its source is taken out of rotation (a
        source that cannot be reached does not count: its last generation is served)."""
        source = self.config.follow.source
        followed = read_follow_state(self.index_dir) if source else None
        if followed is None:
            return
        behind = followed.source_generation - generation
        if behind > self.config.follow.max_behind:
            why = followed.error or "copies are under way"
            raise IndexUnavailable(f"{behind} generations behind {source}: {why}")

    def stats(self) -> dict[str, Any]:
        searcher = self.searcher()
        runs = state.read(self.index_dir)
        return {
            "documents": searcher.doc_count(),
            "by_kind": {k: searcher.doc_frequency("kind", k) for k in ("event", "source")},
            "generation": generation_of(searcher),
            **_sizes(self.index_dir, self.config.analytics_file),
            "runs": runs.get("runs", 0),
            "last_run": runs.get("last_run"),
            "running": runs.get("running"),
            "next_run": runs.get("next_run"),
            **({"follow": asdict(f)} if (f := read_follow_state(self.index_dir)) else {}),
            "watch": _watch(runs.get("watch")),
            **self._files_report(searcher),
            "cache": self.answers.stats(),
        }

    def _files_report(self, searcher: Any) -> dict[str, Any]:
        """What the synonyms and pins files hold, the pins' unknown ids, and why the
        last read of either failed (the last good version is in force)."""
        synonyms, pins = self.synonyms.get(), self.pins.get()
        return {
            "synonyms": {"entries": len(synonyms.table), "error": self.synonyms.error},
            "pins": {
                "queries": len(pins.by_query),
                "unknown_ids": self.pins_report.check(pins, searcher) if pins.by_query else [],
                "error": self.pins.error,
            },
        }


def _watch(record: Any) -> dict[str, Any]:
    """The file watcher as /stats shows it: whether it runs, since when, its last burst."""
    record = record if isinstance(record, dict) else {}
    keys = ("since", "last_fired", "last_paths", "last_status")
    return {"running": bool(record.get("running")), **{k: record.get(k) for k in keys}}


def generation_of(searcher: Any) -> int:
    return searcher.reader().generation()


def _sizes(index_dir: Path, analytics: Path) -> dict[str, int]:
    """Bytes of the index and the files kept beside it (the manifest is a folder), and,
    apart, of the search analytics (SQLite's file and journals: they grow with traffic,
    not with the content, and may be kept in the index directory)."""
    apart = {os.path.abspath(f"{analytics}{end}") for end in ("", "-wal", "-shm")}

    def size(path: str) -> int:
        try:
            return os.stat(path).st_size
        except OSError:  # gone meanwhile (a run's temporary file)
            return 0

    index = 0
    for folder, _dirs, files in os.walk(index_dir):
        paths = (os.path.abspath(os.path.join(folder, f)) for f in files)
        index += sum(size(p) for p in paths if p not in apart)
    return {"index_bytes": index, "analytics_bytes": sum(size(p) for p in apart)}
