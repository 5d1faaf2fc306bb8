"""Scale benchmark: the same figures on the dev corpus (25k files) and the archive (103k
files), side by side in one run, with the growth factor.

    .venv/bin/python bench/scale_bench.py [--corpus dev archive] [--runs 5]

For each corpus, on a working copy (the unpacked corpus is never modified): a full build,
then the no-change re-run and the one-changed-file run, each timed as the scheduler runs
it: a whole `python -m searchsvc index` process (imports included), with the default
settings (`index.nice` 19, so a busy machine slows it; `--nice 0` to measure without).
Medians of `--runs` runs, after one untimed no-change run.

Each corpus is measured by the functions in `MEASURES` (corpus, content root, index dir)
-> {figure: value}; the rows printed are those of `ROWS` that have a value. Then
`searchsvc serve` on each index answers 1,000 searches, 1,000 related and 1,000
completions one at a time (the query benchmark's fixed-seed mix), and each worker's memory
is read from /proc (resident, and its own: the mapped index files are shared).
About 10 minutes on this machine, most of it the archive's full build.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import BENCH, median, table, working_copy

log = logging.getLogger("bench")

Figures = dict[str, float]


@dataclass(frozen=True)
class Setup:
    corpus: str
    root: Path  # a working copy: may be modified
    index_dir: Path
    runs: int
    nice: int | None


def index_process(setup: Setup, *extra: str) -> tuple[float, dict[str, Any]]:
    """(seconds, report) of one `searchsvc index` process, as the scheduler starts it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHSVC_")}
    if setup.nice is not None:
        env["SEARCHSVC_INDEX_NICE"] = str(setup.nice)
    cmd = [sys.executable, "-m", "searchsvc", "index", "--json", "--no-progress"]
    cmd += ["--content", str(setup.root), "--index", str(setup.index_dir), *extra]
    with tempfile.TemporaryDirectory() as cwd:  # no ./config.toml: the defaults
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
        seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"searchsvc index failed ({proc.returncode}):\n{proc.stderr}")
    return seconds, json.loads(proc.stdout)


def files_in(report: dict[str, Any]) -> int:
    return (
        report["added"]
        + report["updated"]
        + len(report["skipped"])
        + report["day_pages"]
        + report["unchanged"]
    )


def measure_index(setup: Setup) -> Figures:
    """Full build, no-change re-run, one changed file (whole processes)."""
    shutil.rmtree(setup.index_dir, ignore_errors=True)
    full, report = index_process(setup, "--full")
    files = files_in(report)
    log.info("%s: full build of %d files in %.1f s", setup.corpus, files, full)

    index_process(setup)  # untimed: the first run after a build warms the caches
    nochange = []
    for _ in range(setup.runs):
        seconds, report = index_process(setup)
        assert report["added"] == report["updated"] == report["deleted"] == 0, report
        nochange.append(seconds)
    log.info("%s: no-change %s s", setup.corpus, ", ".join(f"{x:.2f}" for x in nochange))

    events = sorted((setup.root / "news").rglob("*.md"))
    events = [p for p in events if p.name != "index.md"]  # day pages are not documents
    changed = []
    for k in range(setup.runs):
        path = events[(k + 1) * len(events) // (setup.runs + 1)]
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"\nEdited by the scale benchmark ({k}).\n")
        seconds, report = index_process(setup)
        assert report["updated"] == 1 and report["added"] == 0, report
        changed.append(seconds)
    log.info("%s: one change %s s", setup.corpus, ", ".join(f"{x:.2f}" for x in changed))
    return {
        "files": files,
        "documents": report["documents"],
        "full_s": full,
        "full_files_s": files / full,
        "nochange_s": median(nochange),
        "onechange_s": median(changed),
    }


def index_size(setup: Setup) -> Figures:
    size = sum(p.stat().st_size for p in setup.index_dir.rglob("*") if p.is_file())
    return {"index_mb": size / 1e6}


def _rss_mb(pid: int) -> tuple[float, float]:
    """(resident, private) MB of a process: what it holds, and what it holds alone (the
    mapped index files are shared by every worker)."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, value = line.partition(":")
        fields[key] = int(value.split()[0]) / 1024
    return fields["Rss"], fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)


def measure_serving(setup: Setup) -> Figures:
    """`searchsvc serve` on the index: 1,000 searches, 1,000 related and 1,000 completions
    one at a time (the query benchmark's fixed-seed mix), then each worker's memory."""
    from query_bench import make_prefixes, make_queries, percentile, sequential, start_server

    from searchsvc.config import load_config
    from searchsvc.index import SearchIndex

    flags = {"content.root": str(setup.root), "index.dir": str(setup.index_dir)}
    index = SearchIndex(load_config(env={}, flags=flags))
    searches, related = make_queries(index, 1000)
    prefixes = make_prefixes(index, 1000)
    del index
    server, port = start_server(setup.root, setup.index_dir)
    try:
        sequential(port, searches[:50] + related[:50] + prefixes[:50])  # warm the workers
        time.sleep(2)
        slat, _ = sequential(port, searches)
        rlat, _ = sequential(port, related)
        plat, _ = sequential(port, prefixes)
        workers = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        memory = [_rss_mb(int(pid)) for pid in workers]
    finally:
        server.terminate()
        server.wait(timeout=20)
    return {
        "rss_mb": max(r for r, _ in memory) if memory else 0.0,
        "private_mb": max(p for _, p in memory) if memory else 0.0,
        "search_p50_ms": median(slat),
        "search_p95_ms": percentile(slat, 95),
        "related_p50_ms": median(rlat),
        "suggest_p95_ms": percentile(plat, 95),
    }


# Measures run in order on each corpus (each returns the keys of its ROWS).
MEASURES: list[Callable[[Setup], Figures]] = [measure_index, index_size, measure_serving]

# (key, label, format, target at archive size)
ROWS: list[tuple[str, str, str, str]] = [
    ("files", "files in the tree", "{:,.0f}", ""),
    ("documents", "documents indexed", "{:,.0f}", ""),
    ("full_s", "full build, s", "{:.1f}", ""),
    ("full_files_s", "full build, files/s", "{:,.0f}", ">= 2,000"),
    ("nochange_s", "no-change re-run, s (process, median)", "{:.2f}", "<= 1.0"),
    ("onechange_s", "one changed file, s (process, median)", "{:.2f}", "<= 1.5"),
    ("index_mb", "index size, MB", "{:.0f}", ""),
    ("rss_mb", "web worker RSS after 3,000 requests, MB (largest)", "{:.0f}", "<= 400"),
    ("private_mb", "  of which its own (not the shared index), MB", "{:.0f}", ""),
    ("search_p50_ms", "/search p50, ms", "{:.1f}", "<= 5"),
    ("search_p95_ms", "/search p95, ms", "{:.1f}", "<= 30"),
    ("related_p50_ms", "/related p50, ms", "{:.1f}", "<= 20"),
    ("suggest_p95_ms", "/suggest p95, ms", "{:.1f}", "< 10"),
]


def report_table(results: dict[str, Figures]) -> str:
    names = list(results)
    header = ("metric", *names)
    growth = len(names) == 2
    if growth:
        header += (f"{names[1]}/{names[0]}",)
    rows: list[tuple[str, ...]] = [(*header, "target")]
    for key, label, fmt, target in ROWS:
        values = [results[n].get(key) for n in names]
        if all(v is None for v in values):
            continue
        cells = tuple("-" if v is None else fmt.format(v) for v in values)
        if growth:
            a, b = values
            cells += (f"{b / a:.2f}x" if a and b else "",)
        rows.append((label, *cells, target))
    return table(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", nargs="+", choices=["dev", "archive"], default=["dev", "archive"])
    p.add_argument("--runs", type=int, default=5, help="timed runs of each kind (median)")
    p.add_argument("--nice", type=int, help="index.nice for the runs (default: the setting)")
    p.add_argument("--keep", action="store_true", help="keep the working copies and indexes")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    started = time.perf_counter()
    results: dict[str, Figures] = {}
    for name in args.corpus:
        log.info("%s: copying the corpus", name)
        root = working_copy(f"scale-{name}", name)
        setup = Setup(name, root, BENCH / f"scale-{name}-ix", args.runs, args.nice)
        figures: Figures = {}
        for measure in MEASURES:
            figures.update(measure(setup))
        results[name] = figures
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(setup.index_dir, ignore_errors=True)
    print(report_table(results))
    print(
        f"\n{args.runs} timed runs each (medians), index.nice "
        f"{'as configured' if args.nice is None else args.nice}; "
        f"benchmark took {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
