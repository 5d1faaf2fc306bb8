"""The dev corpus for benchmarks: ../shared/corpus/dev-content.tar.gz, unpacked once."""

from __future__ import annotations

import logging
import shutil
import statistics
import tarfile
import tempfile
from pathlib import Path

log = logging.getLogger("bench")

ARCHIVE = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev-content.tar.gz"
UNPACKED = Path(tempfile.gettempdir()) / "searchsvc-bench" / "corpus"


def corpus(fresh: bool = False) -> Path:
    """The content root of the unpacked corpus (a pristine copy, unpacked if needed)."""
    root = UNPACKED / "content"
    if fresh and UNPACKED.exists():
        shutil.rmtree(UNPACKED)
    if not root.is_dir():
        if not ARCHIVE.exists():
            raise SystemExit(f"no corpus at {ARCHIVE}: ../shared must be beside the project")
        log.info("unpacking %s", ARCHIVE)
        UNPACKED.mkdir(parents=True, exist_ok=True)
        with tarfile.open(ARCHIVE) as tar:
            tar.extractall(UNPACKED, filter="data")
    return root


def working_copy(name: str) -> Path:
    """A scratch copy of the corpus that a benchmark may modify."""
    dest = UNPACKED.parent / name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(corpus(), dest)
    return dest


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
