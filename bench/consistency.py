"""Consistency of the counts on a real corpus (not a timed test).

    .venv/bin/python bench/consistency.py [--corpus dev|archive] [--words 300]

For words drawn from the corpus with a fixed seed, the counts of `/search` must agree
with each other whichever way they are asked for:

- `total(q)` == the sum of `total(q, kind=k)` over the kinds;
- the sum of the `year` facet == `total(q, from=0001, to=9999)` (the dated hits), and
  each year's count == `total(q, from=Y, to=Y)`;
- the `kind` facet == the totals by kind.

Prints the number of mismatches (the target is 0) and the first few.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CORPORA, corpus

from searchsvc.config import load_config
from searchsvc.index import SearchIndex, run_index
from searchsvc.model import KINDS
from searchsvc.query import request_from_params

log = logging.getLogger("bench")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", choices=sorted(CORPORA), default="dev")
    p.add_argument("--words", type=int, default=300)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    root = corpus(args.corpus)
    index_dir = root.parent / "bench-index"
    config = load_config(
        None, env={}, flags={"content.root": str(root), "index.dir": str(index_dir)}
    )
    run_index(config, progress=False)
    index = SearchIndex(config)

    def total(**params: str) -> tuple[int, dict]:
        req = request_from_params({k: [v] for k, v in params.items()}, config.search)
        result = index.search(req)
        return result.total, result.facets

    rng = random.Random(2026)
    vocabulary = sorted(index.vocabulary.get(index.searcher()).words)
    words = rng.sample([w for w in vocabulary if w.isalpha() and len(w) > 3], args.words)
    mismatches: list[str] = []
    searches = 0
    t0 = time.perf_counter()
    for word in words:
        whole, facets = total(q=word)
        by_kind = {k: total(q=word, kind=k)[0] for k in KINDS}
        dated = total(q=word, **{"from": "0001", "to": "9999"})[0]
        years = {f["value"]: f["count"] for f in facets["year"]}
        kinds = {f["value"]: f["count"] for f in facets["kind"]}
        searches += 4
        if whole != sum(by_kind.values()):
            mismatches.append(f"{word}: total {whole} != by kind {by_kind}")
        if kinds != {k: n for k, n in by_kind.items() if n}:
            mismatches.append(f"{word}: kind facet {kinds} != by kind {by_kind}")
        if sum(years.values()) != dated:
            mismatches.append(f"{word}: year facet sums to {sum(years.values())}, dated {dated}")
        for year, count in years.items():
            searches += 1
            got = total(q=word, **{"from": year, "to": year})[0]
            if got != count:
                mismatches.append(f"{word}: year {year} facet {count} != from/to {got}")
    seconds = time.perf_counter() - t0
    log.info(
        "%d words, %d searches in %.1f s on the %s corpus: %d mismatches",
        len(words),
        searches,
        seconds,
        args.corpus,
        len(mismatches),
    )
    for line in mismatches[:20]:
        log.info("  %s", line)
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
