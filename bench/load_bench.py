"""Load benchmark: the running server at concurrency 32 for 60 s while a full re-index runs.

    .venv/bin/python bench/load_bench.py [--seconds 60] [--concurrency 32] [--after 10]

Uses the query mix of bench/query_bench.py (searches, related, completions) on the dev
corpus. The clients start, then a full rebuild (`searchsvc index --full`, as the scheduler
or an operator would start it, at the configured CPU priority); the clients stop `--after`
seconds after it ends, so the measured window (the last `--seconds`) holds the rebuild and
the switch to the new index generation. Prints requests/s, p50/p99 (overall, by endpoint
and just after the switch) and the count of errors (5xx, connection failures). Targets: 0
errors, p99 under 200 ms. The server's workers and threads are `[server]` of config.toml
(or SEARCHSVC_SERVER_WORKERS / _THREADS); the requests are kept in load.json beside the
bench indexes for a closer look.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import multiprocessing
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CORPORA, UNPACKED, table
from query_bench import (
    indexed_corpus,
    make_prefixes,
    make_queries,
    percentile,
    start_server,
)

from searchsvc.config import load_config
from searchsvc.index import SearchIndex

log = logging.getLogger("bench")


_CTX = multiprocessing.get_context("fork")
_STOP = _CTX.Event()  # inherited by the forked clients


def _client(args: tuple[int, list[str], float]) -> list[tuple[float, float, int, str]]:
    """(end, seconds, status, endpoint) for each request until the deadline or the stop
    event; status 0 = failed."""
    port, paths, deadline = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    k = 0
    while time.time() < deadline and not _STOP.is_set():
        path = paths[k % len(paths)]
        k += 1
        t0 = time.perf_counter()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 0
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        out.append((time.time(), time.perf_counter() - t0, status, _endpoint(path)))
    conn.close()
    return out


def _endpoint(path: str) -> str:
    path = path.split("?")[0]
    return "/events/<id>/related" if path.endswith("/related") else path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--after", type=float, default=10, help="seconds measured after the rebuild")
    p.add_argument("--corpus", choices=sorted(CORPORA), default="dev")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    root, config = indexed_corpus(args.corpus)
    index_dir = config.index.dir
    index = SearchIndex(config)
    searches, related = make_queries(index, 1000)
    prefixes = make_prefixes(index, 1000)
    mix = []
    for k, path in enumerate(searches):  # 8 searches : 1 related : 1 completion
        mix.append(path)
        if k % 8 == 0:
            mix.append(related[k])
            mix.append(prefixes[k])

    server, port = start_server(root, index_dir)
    try:
        _client((port, mix[:100], time.time() + 3))  # warm up
        time.sleep(2)
        shares = [
            (port, mix[k :: args.concurrency] or mix, time.time() + 3600)
            for k in range(args.concurrency)
        ]
        with _CTX.Pool(args.concurrency) as pool:
            pending = pool.map_async(_client, shares)
            time.sleep(1)
            began = time.time()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "searchsvc",
                    "index",
                    "--full",
                    "--no-progress",
                    "--content",
                    str(root),
                    "--index",
                    str(index_dir),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            swap = time.time()  # the workers serve the new generation within 0.5 s
            time.sleep(args.after)
            _STOP.set()
            results = pending.get()
    finally:
        server.terminate()
        server.wait(timeout=20)

    end = swap + args.after
    start = end - args.seconds
    if start < began:
        log.warning("the rebuild took less than the window: part of it ran without one")
    flat = [r for share in results for r in share if start <= r[0] <= end]
    # Kept for a closer look (latency against time, around the switch).
    (UNPACKED.parent / "load.json").write_text(json.dumps({"requests": flat, "swap": swap}))
    after = [r[1] * 1000 for r in flat if r[0] >= swap]
    ok = [r for r in flat if 200 <= r[2] < 500]
    errors = [r for r in flat if r[2] == 0 or r[2] >= 500]
    lat = [r[1] * 1000 for r in flat]
    span = max(r[0] for r in flat) - min(r[0] for r in flat)
    rows = [("metric", "value", "target")]
    rows += [
        ("requests", str(len(flat)), ""),
        ("requests/s", f"{len(flat) / span:.0f}", ""),
        ("p50, ms", f"{statistics.median(lat):.1f}", ""),
        ("p99, ms", f"{percentile(lat, 99):.1f}", "< 200"),
        ("errors (5xx or failed)", str(len(errors)), "0"),
        ("4xx (bad queries in the mix)", str(sum(1 for r in ok if r[2] >= 400)), ""),
        ("full rebuild: seconds (niced, under load)", f"{swap - began:.1f}", ""),
        (
            f"p99 in the {args.after:.0f} s after the switch, ms",
            f"{percentile(after, 99):.1f}" if after else "-",
            "",
        ),
    ]
    for endpoint in sorted({r[3] for r in flat}):
        mine = [r[1] * 1000 for r in flat if r[3] == endpoint]
        rows.append(
            (
                f"{endpoint}: n, p50, p99 ms",
                f"{len(mine)}, {statistics.median(mine):.0f}, {percentile(mine, 99):.0f}",
                "",
            )
        )
    print(table(rows))
    served = load_config().server  # what the server process read (file, environment)
    kind = f"searchsvc.worker, {served.threads} thread{'s' if served.threads > 1 else ''} each"
    print(
        f"\nconcurrency {args.concurrency}, {args.seconds:.0f} s; server: {served.workers} "
        f"gunicorn workers ({kind}); rebuilds at `index.nice` {load_config().index.nice}"
    )


if __name__ == "__main__":
    main()
