"""Index benchmark on the dev corpus (../shared/corpus/dev-content.tar.gz).

    .venv/bin/python bench/index_bench.py [--runs 3]

Prints the medians of: a full build (seconds, files/s), a re-run with no change, a re-run
after one changed file, and the index size; beside a baseline measured in the same run:
the same parsed documents written by a plain single-process Whoosh writer with Whoosh's
stock StemmingAnalyzer (what "a plain Whoosh indexer" does).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import median, table, working_copy

from searchsvc.config import load_config
from searchsvc.content import scan
from searchsvc.index import run_index
from searchsvc.index.schema import to_fields
from searchsvc.model import Document
from searchsvc.parsing import parse_file

log = logging.getLogger("bench")


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def baseline(root: Path, scratch: Path) -> float:
    """Seconds for a plain single-process Whoosh build of the same tree: our parser, Whoosh's
    StemmingAnalyzer and default writer, one process."""
    from whoosh import fields, index
    from whoosh.analysis import StemmingAnalyzer

    ana = StemmingAnalyzer()
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        kind=fields.ID(),
        date=fields.DATETIME(sortable=True),
        title=fields.TEXT(analyzer=ana),
        summary=fields.TEXT(analyzer=ana),
        body=fields.TEXT(analyzer=ana),
        tags=fields.KEYWORD(lowercase=True, commas=True),
        locations=fields.KEYWORD(lowercase=True, commas=True),
        story=fields.ID(),
        category=fields.ID(),
        doc=fields.STORED,
    )
    ixdir = scratch / "baseline-ix"
    shutil.rmtree(ixdir, ignore_errors=True)
    ixdir.mkdir(parents=True)
    t0 = time.perf_counter()
    config = load_config(env={}, flags={"content.root": str(root)})
    ix = index.create_in(str(ixdir), schema)
    writer = ix.writer()
    for info in scan(config.content).values():
        info = info.classified(config.content)
        if info.role == "day":
            continue
        doc = parse_file(Path(info.path), root, info.id, info.role)
        if isinstance(doc, Document):
            f = to_fields(doc)
            writer.add_document(
                id=doc.id,
                kind=doc.kind,
                title=doc.title,
                summary=doc.summary,
                body=doc.body,
                tags=f.get("tags", ""),
                locations=f.get("locations", ""),
                story=doc.story or "",
                category=doc.category or "",
                doc=f["hit"] + f["doc"],  # the whole document stored, as searchsvc does
                **({"date": dt.datetime.combine(doc.date, dt.time())} if doc.date else {}),
            )
    writer.commit()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=3, help="full builds to take the median of")
    p.add_argument("--no-baseline", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    root = working_copy("index-bench")
    n_files = len(scan(load_config(env={}, flags={"content.root": str(root)}).content))
    scratch = Path(tempfile.mkdtemp(prefix="searchsvc-bench-"))
    ixdir = scratch / "ix"
    config = load_config(env={}, flags={"content.root": str(root), "index.dir": str(ixdir)})

    full, docs = [], 0
    for k in range(args.runs):
        shutil.rmtree(ixdir, ignore_errors=True)
        t0 = time.perf_counter()
        report = run_index(config, progress=False)
        full.append(time.perf_counter() - t0)
        docs = report.documents
        log.info("full build %d: %.2f s", k + 1, full[-1])

    nochange = []
    for _ in range(5):
        t0 = time.perf_counter()
        report = run_index(config, progress=False)
        nochange.append(time.perf_counter() - t0)
        assert report.nothing_to_do, report.lines()

    changed = []
    events = sorted(root.glob("news/2011/05/0*/*.md"))
    for k in range(5):
        path = events[k * 3]
        path.write_text(path.read_text(encoding="utf-8") + f"\nEdit {k}.\n", encoding="utf-8")
        t0 = time.perf_counter()
        report = run_index(config, progress=False)
        changed.append(time.perf_counter() - t0)
        assert len(report.updated) == 1, report.lines()

    size = dir_size(ixdir)
    base = None if args.no_baseline else baseline(root, scratch)
    shutil.rmtree(scratch, ignore_errors=True)

    full_s = median(full)
    rows = [("metric", "searchsvc", "baseline", "ratio")]
    rows.append(("files in the tree", str(n_files), str(n_files), ""))
    rows.append(("documents indexed", str(docs), "", ""))
    rows.append(
        (
            "full build, s (median)",
            f"{full_s:.2f}",
            f"{base:.2f}" if base else "-",
            f"{base / full_s:.2f}x faster" if base else "",
        )
    )
    rows.append(
        (
            "full build, files/s",
            f"{n_files / full_s:.0f}",
            f"{n_files / base:.0f}" if base else "-",
            "",
        )
    )
    rows.append(("no-change re-run, s (median of 5)", f"{median(nochange):.3f}", "", ""))
    rows.append(("one changed file, s (median of 5)", f"{median(changed):.3f}", "", ""))
    rows.append(("index size, MB", f"{size / 1e6:.1f}", "", ""))
    print(table(rows))
    print(
        f"\nfull builds: {', '.join(f'{x:.2f}' for x in full)} s; targets: >= 2000 files/s, "
        "no-change < 0.5 s, one change < 1 s"
    )


if __name__ == "__main__":
    main()
