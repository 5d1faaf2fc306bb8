"""Query benchmark: the running server over HTTP, on the index of the dev corpus.

    .venv/bin/python bench/query_bench.py [--queries 1000] [--seconds 20]

Builds (or brings up to date) the index of ../shared/corpus, starts `searchsvc serve` on a
free port, and sends 1,000 queries drawn from the corpus with a fixed seed: the rarest
words of event titles, title phrases, words with a tag, location or year filter, and
filter-only browsing. Prints p50/p95/p99 latency one request at a time, and requests/s
(with latencies) at concurrency 8; then the same for /events/<id>/related. The baseline,
measured in the same run, is the same queries through plain Whoosh in-process (parse and
top-10 search: no HTTP, facets, snippets or phrase bonus).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CORPORA, UNPACKED, corpus, table

from searchsvc.config import Config, load_config
from searchsvc.index import SearchIndex, run_index
from searchsvc.index.schema import TEXT_ANALYZER, stored_hit

log = logging.getLogger("bench")
CONCURRENCY = 8


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def make_queries(index: SearchIndex, n: int, seed: int = 2026) -> tuple[list[str], list[str]]:
    """(search URLs, related URLs) drawn from the indexed events with a fixed seed."""
    rng = random.Random(seed)
    searcher = index.searcher()
    events = [
        f for f in (stored_hit(d) for d in searcher.all_stored_fields()) if f["kind"] == "event"
    ]
    events.sort(key=lambda e: e["id"])

    def rare_words(title: str, k: int) -> list[str]:
        words = [
            w
            for w in title.replace(":", " ").split()
            if w.isalpha() and len(w) > 3 and list(TEXT_ANALYZER(w))
        ]

        def df(w: str) -> int:
            stems = [t.text for t in TEXT_ANALYZER(w)]
            return searcher.doc_frequency("title", stems[0]) if stems else 10**9

        return sorted(set(words), key=df)[:k]

    searches = []
    while len(searches) < n:
        e = rng.choice(events)
        kind = rng.random()
        words = rare_words(e["title"], rng.choice((1, 2, 2, 3)))
        if not words:
            continue
        params: dict[str, str] = {"q": " ".join(words)}
        if kind < 0.15:
            toks = [w for w in e["title"].split() if w.isalpha()]
            if len(toks) < 3:
                continue
            start = rng.randrange(len(toks) - 2)
            params = {"q": '"' + " ".join(toks[start : start + rng.choice((2, 3))]) + '"'}
        elif kind < 0.25 and e["tags"]:
            params["tag"] = rng.choice(e["tags"])
        elif kind < 0.32 and e["locations"]:
            params["location"] = rng.choice(e["locations"])
        elif kind < 0.38 and e["date"]:
            params["from"] = params["to"] = e["date"][:4]
        elif kind < 0.45 and e["tags"]:
            params = {"tag": rng.choice(e["tags"])}
        searches.append("/search?" + urlencode(params))
    related = [f"/events/{quote(rng.choice(events)['id'])}/related?limit=10" for _ in range(n)]
    return searches, related


def make_prefixes(index: SearchIndex, n: int, seed: int = 2026) -> list[str]:
    """What a user has typed so far: the first 2 to 5 letters of title words."""
    rng = random.Random(seed)
    searcher = index.searcher()
    titles = sorted(stored_hit(d)["title"] for d in searcher.all_stored_fields())
    out = []
    while len(out) < n:
        words = [w for w in rng.choice(titles).split() if w.isalpha() and len(w) > 3]
        if words:
            word = rng.choice(words)
            out.append("/suggest?limit=8&q=" + quote(word[: rng.randint(2, 5)]))
    return out


def _client(args: tuple[int, list[str]]) -> list[tuple[float, int]]:
    port, paths = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for path in paths:
        t0 = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        out.append((time.perf_counter() - t0, response.status))
    conn.close()
    return out


def sequential(port: int, paths: list[str]) -> tuple[list[float], int]:
    results = _client((port, paths))
    return [t * 1000 for t, _ in results], sum(1 for _, s in results if s >= 500)


def concurrent(port: int, paths: list[str], seconds: float) -> tuple[float, list[float], int]:
    """Requests/s and latencies with CONCURRENCY clients (processes: no shared GIL)."""
    rounds = int(max(1, seconds * 400 // len(paths) + 1))
    return replay(port, (paths * rounds)[: int(seconds * 600)])


def replay(port: int, paths: list[str]) -> tuple[float, list[float], int]:
    """Requests/s, latencies (ms) and 5xx answers of the paths, with CONCURRENCY client
    processes each asking every CONCURRENCY-th of them in order."""
    shares = [(port, paths[k::CONCURRENCY]) for k in range(CONCURRENCY)]
    with multiprocessing.get_context("fork").Pool(CONCURRENCY) as pool:
        t0 = time.perf_counter()
        results = pool.map(_client, shares)
        wall = time.perf_counter() - t0
    flat = [r for share in results for r in share]
    return len(flat) / wall, [t * 1000 for t, _ in flat], sum(1 for _, s in flat if s >= 500)


WRK_SCRIPT = Path(__file__).resolve().parent / "replay.lua"
# One thread: the log in order, and enough (wrk answers tens of thousands a second); with
# two, the thread done first left its last connections to stall the other for seconds.
WRK_THREADS = 1


def replay_wrk(port: int, paths: list[str]) -> dict[str, float]:
    """The paths replayed by wrk (a C load generator) over CONCURRENCY connections, each
    path once (see replay.lua): requests, seconds, p50/p95/p99 ms, server_errors (5xx),
    socket_errors. Python clients take about half of this machine's two cores from the
    server (`replay`); wrk a small share, so this is nearer to what the server can do."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write("\n".join(paths) + "\n")
        f.flush()
        # wrk stops at -d whatever happens: a bound on the run should a request never be
        # answered (no "done" then), at 20 requests/s, far below any figure measured here.
        bound = f"{60 + len(paths) // 20}s"
        cmd = ["wrk", "-t", str(WRK_THREADS), "-c", str(CONCURRENCY), "-d", bound]
        cmd += ["--timeout", "30s", "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}"]
        wrk = subprocess.Popen(
            [*cmd, "--", f.name, str(WRK_THREADS)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert wrk.stdout is not None
            finished = 0
            for line in wrk.stdout:  # wrk waits out -d: interrupt it once all are done
                finished += line.strip() == "done"
                if finished == WRK_THREADS:
                    wrk.send_signal(signal.SIGINT)
                    break
            out = wrk.communicate(timeout=60)[0]
        finally:
            wrk.kill()
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    if result["requests"] < len(paths):  # some were never answered: the rate is not one
        log.warning("wrk: %d of %d requests answered", result["requests"], len(paths))
    return result


def _fetch(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> tuple:
    """(ms, status, body bytes, bytes on the wire incl. the head, ETag) of one GET."""
    t0 = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    ms = (time.perf_counter() - t0) * 1000
    head = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + len(str(response.msg))
    return ms, response.status, len(body), head + len(body), response.getheader("ETag")


def caching(port: int, paths: list[str]) -> dict[str, dict[str, list[float]]]:
    """The same searches three ways, each one after the other: plain (identity), gzipped
    (Accept-Encoding: gzip), and revalidated with the ETag of the plain answer (304)."""
    out: dict[str, dict[str, list[float]]] = {
        mode: {"ms": [], "body": [], "wire": []} for mode in ("plain", "gzip", "304")
    }
    for path in paths:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        plain = _fetch(conn, path, {"Accept-Encoding": "identity"})
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        zipped = _fetch(conn, path, {"Accept-Encoding": "gzip"})
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        revalidated = _fetch(conn, path, {"If-None-Match": plain[4] or ""})
        conn.close()
        if plain[1] != 200 or revalidated[1] != 304:
            continue
        for mode, (ms, _s, body, wire, _e) in (
            ("plain", plain),
            ("gzip", zipped),
            ("304", revalidated),
        ):
            out[mode]["ms"].append(ms)
            out[mode]["body"].append(body)
            out[mode]["wire"].append(wire)
    return out


def caching_table(result: dict[str, dict[str, list[float]]]) -> str:
    plain = result["plain"]
    rows = [
        (
            "/search answer",
            "p50 ms",
            "p95 ms",
            "body bytes p50",
            "bytes on the wire, total",
            "vs plain",
        )
    ]
    for mode, label in (
        ("plain", "plain (baseline)"),
        ("gzip", "gzip"),
        ("304", "304 (If-None-Match)"),
    ):
        r = result[mode]
        rows.append(
            (
                label,
                f"{statistics.median(r['ms']):.2f}",
                f"{percentile(r['ms'], 95):.2f}",
                f"{statistics.median(r['body']):.0f}",
                f"{sum(r['wire']):,.0f}",
                f"{sum(r['wire']) / sum(plain['wire']):.2f}x bytes, "
                f"{statistics.median(r['ms']) / statistics.median(plain['ms']):.2f}x ms",
            )
        )
    return table(rows) + f"\n({len(plain['ms'])} searches, each three ways in turn)"


def baseline(index_dir: Path, searches: list[str]) -> list[float]:
    """Plain Whoosh, in-process: parse the same q and take the top 10; no filters."""
    from urllib.parse import parse_qs, urlsplit

    from whoosh import index as whoosh_index
    from whoosh.qparser import MultifieldParser

    ix = whoosh_index.open_dir(str(index_dir))
    parser = MultifieldParser(["title", "summary", "body"], ix.schema)
    out = []
    with ix.searcher() as s:
        for url in searches:
            q = parse_qs(urlsplit(url).query).get("q", [""])[0]
            if not q:
                continue
            t0 = time.perf_counter()
            results = s.search(parser.parse(q), limit=10)
            [hit["id"] for hit in results]
            out.append((time.perf_counter() - t0) * 1000)
    return out


QUERY_INDEX = UNPACKED.parent / "query-ix"


def query_index(name: str = "dev") -> Path:
    return QUERY_INDEX if name == "dev" else QUERY_INDEX.with_name(f"query-ix-{name}")


def indexed_corpus(name: str = "dev") -> tuple[Path, Config]:
    """A corpus, indexed (incrementally) into the query benchmarks' index."""
    root = corpus(name)
    flags = {"content.root": str(root), "index.dir": str(query_index(name))}
    config = load_config(env={}, flags=flags)
    log.info("indexing: %s", run_index(config, progress=False).lines()[0])
    return root, config


def start_server(
    root: Path, index_dir: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """`searchsvc serve` on a free port, once it answers; its log is serve.log; `env`:
    settings added to the environment (SEARCHSVC_...)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_file = open(index_dir.parent / "serve.log", "w")  # noqa: SIM115 - lives with the server
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "searchsvc",
            "serve",
            "--no-schedule",
            "--port",
            str(port),
            "--content",
            str(root),
            "--index",
            str(index_dir),
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=os.environ | (env or {}),
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start; see " + str(index_dir.parent / "serve.log"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=20, help="length of each concurrent run")
    p.add_argument("--only-search", action="store_true", help="skip /related")
    p.add_argument("--corpus", choices=sorted(CORPORA), default="dev")
    p.add_argument(
        "--caching-only", action="store_true", help="only what a 304 and gzip save (bytes, ms)"
    )
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    root, config = indexed_corpus(args.corpus)
    index = SearchIndex(config)
    searches, related = make_queries(index, args.queries)
    prefixes = make_prefixes(index, args.queries)
    server, port = start_server(root, config.index.dir)
    try:
        _client((port, searches[:50] + related[:50] + prefixes[:50]))  # warm the workers
        time.sleep(2)  # the vocabulary for /suggest is built in the background at start
        cached = caching(port, searches)
        if args.caching_only:
            print(caching_table(cached))
            return
        slat, serr = sequential(port, prefixes)
        lat, err = sequential(port, searches)
        rps, clat, cerr = concurrent(port, searches, args.seconds)
        if args.only_search:
            rlat, rerr, rrps, rclat, rcerr = [0.0], 0, 0.0, [0.0], 0
        else:
            rlat, rerr = sequential(port, related)
            rrps, rclat, rcerr = concurrent(port, related, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=20)
    base = baseline(config.index.dir, searches)

    def ms(v: float) -> str:
        return f"{v:.1f}"

    rows = [("metric", "searchsvc", "target", "baseline (plain Whoosh)")]
    rows += [
        (
            "/search p50, ms (1 at a time)",
            ms(statistics.median(lat)),
            "<= 5",
            f"{ms(statistics.median(base))} "
            f"({statistics.median(lat) / statistics.median(base):.1f}x)",
        ),
        ("/search p95, ms", ms(percentile(lat, 95)), "<= 30", ms(percentile(base, 95))),
        ("/search p99, ms", ms(percentile(lat, 99)), "", ms(percentile(base, 99))),
        (f"/search requests/s, concurrency {CONCURRENCY}", f"{rps:.0f}", ">= 300", ""),
        (
            f"/search p50 / p99 at concurrency {CONCURRENCY}, ms",
            f"{ms(statistics.median(clat))} / {ms(percentile(clat, 99))}",
            "",
            "",
        ),
        ("/related p50, ms (1 at a time)", ms(statistics.median(rlat)), "<= 20", ""),
        (
            "/related p95 / p99, ms",
            f"{ms(percentile(rlat, 95))} / {ms(percentile(rlat, 99))}",
            "",
            "",
        ),
        (f"/related requests/s, concurrency {CONCURRENCY}", f"{rrps:.0f}", "", ""),
        (
            "/suggest p50 / p95, ms",
            f"{ms(statistics.median(slat))} / {ms(percentile(slat, 95))}",
            "p95 < 10",
            "",
        ),
        ("5xx responses", str(err + cerr + rerr + rcerr + serr), "0", ""),
    ]
    print(table(rows))
    print("\n" + caching_table(cached))
    print(
        f"\n{len(searches)} search and {len(related)} related requests, one at a time; "
        f"{len(clat)} and {len(rclat)} at concurrency {CONCURRENCY}."
    )


if __name__ == "__main__":
    main()
