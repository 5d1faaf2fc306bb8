"""The corpora for benchmarks, unpacked once: `dev` (../shared/corpus/dev-content.tar.gz,
25k files, three years) and `archive` (archive-content.tar.gz, 103k files, twelve years)."""

from __future__ import annotations

import logging
import shutil
import statistics
import tarfile
import tempfile
from pathlib import Path

log = logging.getLogger("bench")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus"
CORPORA = {"dev": "dev-content.tar.gz", "archive": "archive-content.tar.gz"}
BENCH = Path(tempfile.gettempdir()) / "searchsvc-bench"
UNPACKED = BENCH / "corpus"  # the dev corpus (kept where earlier runs unpacked it)


def unpacked(name: str = "dev") -> Path:
    return UNPACKED if name == "dev" else BENCH / name


def corpus(name: str = "dev", fresh: bool = False) -> Path:
    """The content root of an unpacked corpus (a pristine copy, unpacked if needed)."""
    tarball, where = SHARED / CORPORA[name], unpacked(name)
    root = where / "content"
    if fresh and where.exists():
        shutil.rmtree(where)
    if not root.is_dir():
        if not tarball.exists():
            raise SystemExit(f"no corpus at {tarball}: ../shared must be beside the project")
        log.info("unpacking %s", tarball)
        where.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as tar:
            tar.extractall(where, filter="data")
    return root


def working_copy(name: str, corpus_name: str = "dev") -> Path:
    """A scratch copy of a corpus (`dev` or `archive`) that a benchmark may modify; the
    unpacked corpus itself is never written to."""
    dest = UNPACKED.parent / name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(corpus(corpus_name), dest)
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
