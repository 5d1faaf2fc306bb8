"""What an index run answers: its report, or one of its errors (each told in one line).

Apart from the run (`writing.py`) because committing (`commit.py`) fills the report and
raises the errors too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
