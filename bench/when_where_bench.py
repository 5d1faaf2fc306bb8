"""What the histogram and the geographic filters cost: in-process, on the archive.

    .venv/bin/python bench/when_where_bench.py [--content DIR] [--index DIR] [--queries 300]

Builds (or brings up to date) the index of the content (default: the archive corpus,
unpacked by bench/corpus.py), then runs the same searches (rare and common title words,
two-word queries, browsing) with and without `histogram=auto`, alternately, in the same
run: prints p50/p95 of each and the p50 of the time the histogram adds per search. Then
the same for `near=` (a place of the archive, 500 km) and `bbox=` against no filter.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import corpus, table

from searchsvc.config import load_config
from searchsvc.index import SearchIndex, run_index
from searchsvc.query import Filters, QueryError, SearchRequest

log = logging.getLogger("bench")


def timed(index: SearchIndex, req: SearchRequest) -> float:
    t0 = time.perf_counter()
    index.search(req)
    return (time.perf_counter() - t0) * 1000


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(p * len(values)))]


def requests_for(index: SearchIndex, n: int) -> list[SearchRequest]:
    rng = random.Random(21)
    words: list[str] = []
    for hit in index.search(SearchRequest(per_page=100)).hits:
        words += [w for w in hit.title.split() if w.isalpha() and len(w) > 3]
    words = sorted(set(words))
    reqs = [SearchRequest()]  # browse everything
    while len(reqs) < n:
        k = rng.choice((1, 1, 2))
        req = SearchRequest(q=" ".join(rng.sample(words, k)))
        try:
            index.search(req)
        except QueryError:  # stop words only ("With")
            continue
        reqs.append(req)
    return reqs


def compare(
    index: SearchIndex, reqs: list[SearchRequest], change: dict, name: str
) -> tuple[str, ...]:
    base, other, added = [], [], []
    for req in reqs:
        changed = replace(req, **change)
        timed(index, req)  # warm the caches of both
        timed(index, changed)
        a, b = timed(index, req), timed(index, changed)
        base.append(a)
        other.append(b)
        added.append(b - a)
    return (
        name,
        f"{statistics.median(base):.2f}",
        f"{pct(base, 0.95):.2f}",
        f"{statistics.median(other):.2f}",
        f"{pct(other, 0.95):.2f}",
        f"{statistics.median(added):+.2f}",
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser()
    ap.add_argument("--content", type=Path)
    ap.add_argument("--index", type=Path, default=Path("/tmp/searchsvc-bench/archive-ix"))
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    content = args.content or corpus("archive")
    config = load_config(
        path=None, env={}, flags={"content.root": str(content), "index.dir": str(args.index)}
    )
    t0 = time.perf_counter()
    run_index(config, progress=False)
    log.info("index up to date in %.1f s", time.perf_counter() - t0)
    index = SearchIndex(config)
    reqs = requests_for(index, args.queries)
    busiest = index.search(SearchRequest(per_page=1)).facets["locations"][0]["value"]
    near = Filters(near=busiest, km=500)
    rows = [("searches", "p50 ms", "p95 ms", "with p50", "with p95", "added p50")]
    rows.append(compare(index, reqs, {"histogram": "auto"}, "histogram=auto"))
    rows.append(compare(index, reqs, {"histogram": "day"}, "histogram=day"))
    rows.append(compare(index, reqs, {"filters": near}, f"near={busiest}&km=500"))
    box = Filters(bbox=(-20.0, 0.0, 30.0, 40.0))
    rows.append(compare(index, reqs, {"filters": box}, "bbox=-20,0,30,40"))
    # The largest results: browsing everything, and the commonest words (the page always
    # asks for the histogram, so these are its worst case).
    big = [SearchRequest(), SearchRequest(q="said"), SearchRequest(q="government")] * 30
    rows.append(compare(index, big, {"histogram": "auto"}, "histogram=auto, large results"))
    rows.append(compare(index, big, {"filters": near}, "near=, large results"))
    print(f"{index.search(SearchRequest(per_page=1)).total} documents, {len(reqs)} searches")
    print(table(rows))


if __name__ == "__main__":
    main()
