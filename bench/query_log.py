"""A site's query traffic: a reproducible log of requests with Zipf popularity, replayed.

    .venv/bin/python bench/query_log.py [--corpus archive] [--requests 10000] [--out log.txt]

The log: distinct requests drawn from the indexed corpus with a fixed seed (words of
event titles, tags, places, some with a tag, place or year filter, pages 1-3, some
/suggest prefixes and /events/<id>/related), and 10,000 draws from them with Zipf
popularity (the r-th most popular drawn with weight 1/r^exponent, exponent 1): a few
hundred requests make up much of the traffic, as in the query logs of news and web search.
`--out` writes it, one request path a line.

Replayed (one run; the machine is shared, so compare the ratios of one run):
- in-process, the /search requests through `SearchIndex.search`, answer cache on (as
  served) and off (every answer computed), one at a time;
- the anchor: the same /search requests through SQLite FTS5 in-process, on a table of the
  same documents (title, summary and body; tags and locations columns for the filters):
  MATCH of the quoted words (AND) ordered by bm25, or by date when browsing, LIMIT 10
  OFFSET of the page: ten ids, no total, facets or snippets;
- over HTTP, the whole log at concurrency 8, cache on and off: p50, p95, p99,
  requests/s; with the cache on, the log a second time (the steady state of a served
  site, whose cache is warm), and as many `GET /livez` (a no-op answer through the same
  workers and clients: the ceiling of the HTTP stack on this machine). The client is wrk
  (`apt-get install wrk`; 8 connections, bench/replay.lua) when installed, else 8 Python
  processes (`--client python`), which take about half of the two cores from the server.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import random
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import BENCH, CORPORA, corpus, table
from query_bench import CONCURRENCY, _client, percentile, replay, replay_wrk, start_server

from searchsvc.config import Config, load_config
from searchsvc.index import SearchIndex, run_index
from searchsvc.index.schema import stored_dict, stored_hit
from searchsvc.query import QueryError, request_from_params

log = logging.getLogger("bench")
SEED = 2026


def _words(text: str) -> list[str]:
    return [w for w in text.replace(":", " ").split() if w.isalpha() and len(w) > 3]


def distinct_requests(index: SearchIndex, n: int, rng: random.Random) -> list[str]:
    """`n` distinct request paths drawn from the indexed events."""
    events = sorted(
        (d for d in map(stored_hit, index.searcher().all_stored_fields()) if d["kind"] == "event"),
        key=lambda d: d["id"],
    )
    out: dict[str, None] = {}
    while len(out) < n:
        e = rng.choice(events)
        words = _words(e["title"])
        r = rng.random()
        if r < 0.10 and words:
            path = "/suggest?q=" + quote(rng.choice(words)[: rng.randint(2, 5)])
        elif r < 0.17:
            path = f"/events/{quote(e['id'])}/related"
        else:
            params: dict[str, str] = {}
            if r < 0.27 and e["tags"]:
                params["q"] = rng.choice(e["tags"])
            elif r < 0.35 and e["locations"]:
                params["q"] = rng.choice(e["locations"])
            elif words:
                params["q"] = " ".join(rng.sample(words, min(len(words), rng.choice((1, 2)))))
            else:
                continue
            f = rng.random()
            if f < 0.06 and e["tags"]:
                params["tag"] = rng.choice(e["tags"])
            elif f < 0.10 and e["locations"]:
                params["location"] = rng.choice(e["locations"])
            elif f < 0.13 and e["date"]:
                params["from"] = params["to"] = e["date"][:4]
            page = rng.choices((1, 2, 3), weights=(80, 14, 6))[0]
            if page > 1:
                params["page"] = str(page)
            path = "/search?" + urlencode(params)
        out[path] = None
    return list(out)


def make_log(index: SearchIndex, n: int, distinct: int, exponent: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    pool = distinct_requests(index, distinct, rng)
    weights = [1 / (rank + 1) ** exponent for rank in range(len(pool))]
    return rng.choices(pool, weights=weights, k=n)


# --- replaying ---------------------------------------------------------------------------


def search_params(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


def in_process(config: Config, searches: list[str], cache: int) -> list[float]:
    config = dataclasses.replace(
        config, search=dataclasses.replace(config.search, cache_entries=cache)
    )
    index = SearchIndex(config)
    index.warm()
    out = []
    for path in searches:
        t0 = time.perf_counter()
        # A QueryError is a 400 over HTTP (a query of stop words only, say): answered too.
        with contextlib.suppress(QueryError):
            index.search(request_from_params(search_params(path), config.search))
        out.append((time.perf_counter() - t0) * 1000)
    return out


def fts5_table(index: SearchIndex) -> sqlite3.Connection:
    """The anchor: the same documents in an in-memory FTS5 table."""
    con = sqlite3.connect(":memory:")
    con.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, date UNINDEXED, title, body, "
        "tags, locations, tokenize='porter unicode61 remove_diacritics 2')"
    )
    rows = (
        (
            d["id"],
            d["date"] or "",
            d["title"],
            f"{d['summary']}\n{d['body']}",
            " | ".join(d["tags"]),
            " | ".join(d["locations"]),
        )
        for d in map(stored_dict, index.searcher().all_stored_fields())
    )
    with con:
        con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    return con


def _quoted(text: str) -> str:
    return '"' + text.replace('"', " ") + '"'


def fts5_replay(con: sqlite3.Connection, searches: list[str]) -> list[float]:
    out = []
    for path in searches:
        p = {k: v[0] for k, v in search_params(path).items()}
        offset = (int(p.get("page", 1)) - 1) * 10
        match = []
        if p.get("q"):
            match.append("{title body}: (" + " ".join(_quoted(w) for w in p["q"].split()) + ")")
        if p.get("tag"):
            match.append("tags: " + _quoted(p["tag"]))
        if p.get("location"):
            match.append("locations: " + _quoted(p["location"]))
        where, args = ["docs MATCH ?"], [" AND ".join(match)]
        if p.get("from"):
            where.append("date >= ? AND date < ?")
            args += [p["from"], str(int(p["from"][:4]) + 1)]
        order = "bm25(docs, 0, 0, 2.0, 1.0, 1.0, 1.0)" if p.get("q") else "date DESC"
        sql = f"SELECT id FROM docs WHERE {' AND '.join(where)} ORDER BY {order} LIMIT 10 "
        t0 = time.perf_counter()
        con.execute(sql + f"OFFSET {offset}", args).fetchall()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", choices=sorted(CORPORA), default="dev")
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--distinct", type=int, default=3_000, help="distinct requests drawn")
    p.add_argument("--exponent", type=float, default=1.0, help="of the Zipf popularity")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--out", type=Path, help="write the log here, one path a line")
    p.add_argument("--index", type=Path, help="index directory (default: under the bench dir)")
    p.add_argument(
        "--client",
        choices=("wrk", "python"),
        default="wrk" if shutil.which("wrk") else "python",
        help="the HTTP load generator (default: wrk if installed)",
    )
    args = p.parse_args()
    if args.client == "wrk" and not shutil.which("wrk"):
        p.error("wrk is not installed (apt-get install wrk), or use --client python")
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    root = corpus(args.corpus)
    where = args.index or BENCH / f"traffic-ix-{args.corpus}"
    config = load_config(
        env={}, flags={"content.root": str(root), "index.dir": str(where), "index.nice": 0}
    )
    log.info("indexing: %s", run_index(config, progress=False).lines()[0])
    index = SearchIndex(config)
    paths = make_log(index, args.requests, args.distinct, args.exponent, args.seed)
    if args.out:
        args.out.write_text("\n".join(paths) + "\n", encoding="utf-8")
    searches = [x for x in paths if x.startswith("/search")]
    log.info("%d requests, %d distinct; %d /search", len(paths), len(set(paths)), len(searches))

    cached = in_process(config, searches, config.search.cache_entries or 1000)
    cold = in_process(config, searches, 0)
    fts = fts5_replay(fts5_table(index), searches)
    over_http = replay_wrk if args.client == "wrk" else python_clients
    http: dict[str, dict[str, float]] = {}
    for name, entries in (("on", config.search.cache_entries or 1000), ("off", 0)):
        server, port = start_server(
            root, config.index.dir, {"SEARCHSVC_SEARCH_CACHE_ENTRIES": str(entries)}
        )
        try:
            _client((port, paths[:200]))  # the workers' tables and vocabulary
            http[f"cache {name}"] = over_http(port, paths)
            if entries:  # a served site's cache is warm: the same log again
                http[f"cache {name}, replayed again"] = over_http(port, paths)
            # The HTTP stack's ceiling here: a no-op answer, the same clients and workers.
            if entries:
                http["GET /livez (no-op: the ceiling)"] = over_http(port, ["/livez"] * len(paths))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(report(cached, cold, fts, http, len(paths), len(set(paths)), args.client))


def python_clients(port: int, paths: list[str]) -> dict[str, float]:
    """`replay` (8 Python client processes) summed up as `replay_wrk` does."""
    rps, lat, errors = replay(port, paths)
    return {
        "requests": len(lat),
        "seconds": len(lat) / rps,
        **{f"p{p}": percentile(lat, p) for p in (50, 95, 99)},
        "server_errors": errors,
        "socket_errors": 0,  # an error stops the run
    }


def report(
    cached: list[float],
    cold: list[float],
    fts: list[float],
    http: dict[str, dict[str, float]],
    n: int,
    distinct: int,
    client: str,
) -> str:
    anchor = statistics.median(fts)

    def cells(p50: float, p95: float, p99: float) -> tuple[str, ...]:
        return f"{p50:.3f} ({p50 / anchor:.2g}x)", f"{p95:.2f}", f"{p99:.2f}"

    def row(name: str, lat: list[float]) -> tuple[str, ...]:
        p = (statistics.median(lat), percentile(lat, 95), percentile(lat, 99))
        return (name, *cells(*p), "", "")

    rows = [("replay", "p50 ms (x FTS5 p50)", "p95 ms", "p99 ms", "req/s", "5xx")]
    rows.append(row("/search in-process, cache on", cached))
    rows.append(row("/search in-process, cache off", cold))
    rows.append(row("/search SQLite FTS5 in-process (anchor)", fts))
    for name, r in http.items():
        label = f"whole log over HTTP, {name}" if name.startswith("cache") else name
        rows.append(
            (
                f"{label}, c={CONCURRENCY}",
                *cells(r["p50"], r["p95"], r["p99"]),
                f"{r['requests'] / r['seconds']:.0f}",
                f"{r['server_errors']:.0f}",
            )
        )
    clients = "wrk" if client == "wrk" else f"{CONCURRENCY} Python processes"
    return (
        f"{n:,} requests ({distinct:,} distinct), {len(cached):,} of them /search; one run; "
        f"HTTP client: {clients}\n" + table(rows)
    )


if __name__ == "__main__":
    main()
