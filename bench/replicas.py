"""Read replicas on one machine: an indexing host, two query hosts, HAProxy in front.

    .venv/bin/python bench/replicas.py [--corpus dev] [--seconds 20] [--concurrency 8]

The indexing host is `searchsvc schedule` over a working copy of the corpus (every
`--interval` seconds); each query host is `searchsvc serve --follow <its index>` on its own
port with its own index folder; HAProxy runs deploy/haproxy.cfg with this machine's ports.
The query mix of bench/load_bench.py goes through HAProxy:

1. with one query host in the configuration, then with two: requests/s and p50/p99
   (on 2 cores the gain is bounded: both hosts share the same two cores);
2. with two, for `--seconds`: documents added on the indexing host (each timed until
   HAProxy and both hosts find it), one query host killed with SIGKILL and restarted, and a
   full rebuild on the indexing host.

Prints the failed requests through HAProxy (target 0) and the figures. Needs haproxy and
rsync (Debian packages).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import requests  # noqa: E402
from conftest import Server, free_port  # noqa: E402
from corpus import CORPORA, table, working_copy  # noqa: E402
from load_bench import _CTX, _STOP, _client  # noqa: E402
from query_bench import make_queries, percentile  # noqa: E402
from test_haproxy import kill_tree, render, status  # noqa: E402

from searchsvc.config import load_config  # noqa: E402
from searchsvc.index import SearchIndex, run_index  # noqa: E402

log = logging.getLogger("bench")

EVENT = """---
date: 2026-12-0{day}
title: "Replica check {n}: Quokkaville harbour reopens"
tags: [Quokkaville]
---
The harbour of Quokkaville{n} reopened after the storm.
"""


def load(port: int, paths: list[str], seconds: float, concurrency: int) -> list[tuple]:
    """The mix at this concurrency for this long: (end, seconds, status, endpoint) each."""
    _STOP.clear()
    deadline = time.time() + seconds
    shares = [(port, paths[k::concurrency] or paths, deadline) for k in range(concurrency)]
    with _CTX.Pool(concurrency) as pool:
        return [r for share in pool.map(_client, shares) for r in share]


def summary(results: list[tuple]) -> tuple[str, str, str, str]:
    lat = [r[1] * 1000 for r in results]
    span = max(r[0] for r in results) - min(r[0] for r in results)
    failed = sum(1 for r in results if r[2] == 0 or r[2] >= 500)
    return (
        f"{len(results) / span:.0f}",
        f"{statistics.median(lat):.1f}",
        f"{percentile(lat, 99):.1f}",
        str(failed),
    )


def start_lb(workdir: Path, hosts: list[int]) -> tuple[subprocess.Popen[bytes], int, int]:
    port, stats_port = free_port(), free_port()
    cfg = workdir / f"haproxy-{len(hosts)}.cfg"
    cfg.write_text(render(port, stats_port, hosts))
    proc = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if all(status(stats_port, f"query{n}") == "UP" for n in range(1, len(hosts) + 1)):
                return proc, port, stats_port
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit("HAProxy did not see the query hosts up")


def finds(url: str, word: str) -> bool:
    try:
        r = requests.get(url + "/search", params={"q": word}, timeout=10)
        return r.status_code == 200 and r.json()["total"] > 0
    except requests.RequestException:
        return False


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", choices=sorted(CORPORA), default="dev")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--interval", default="3s", help="the indexing host's schedule")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    root = working_copy("replicas-content", args.corpus)
    work = root.parent / "replicas"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir()
    source = work / "indexer"
    flags = {"content.root": str(root), "index.dir": str(source)}
    config = load_config(env={}, flags=flags)
    log.info("indexing host: %s", run_index(config, progress=False).lines()[0])
    searches, related = make_queries(SearchIndex(config), 600)
    mix = [x for k, s in enumerate(searches) for x in ([s, related[k]] if k % 8 == 0 else [s])]

    env = {"SEARCHSVC_SCHEDULE_INTERVAL": args.interval}
    indexer = subprocess.Popen(
        [sys.executable, "-m", "searchsvc", "schedule", "--content", str(root), "--index",
         str(source)],
        env={**__import__("os").environ, **env},
        stdout=(work / "indexer.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    ports = [free_port(), free_port()]

    def query_host(n: int) -> Server:
        return Server(root, work / f"q{n}", "--follow", str(source), "--workers", "2",
                      port=ports[n - 1]).wait_ready(timeout=120)  # fmt: skip

    hosts = [query_host(1), query_host(2)]
    rows = [("query hosts", "requests/s", "p50 ms", "p99 ms", "failed")]
    try:
        for n in (1, 2):
            lb, lb_port, _ = start_lb(work, ports[:n])
            load(lb_port, mix[:50], 3, args.concurrency)  # warm up
            rows.append((str(n), *summary(load(lb_port, mix, args.seconds, args.concurrency))))
            lb.terminate()
            lb.wait(timeout=10)

        lb, lb_port, stats_port = start_lb(work, ports)
        lb_url = f"http://127.0.0.1:{lb_port}"
        results: list[tuple] = []
        runner = threading.Thread(
            target=lambda: results.extend(load(lb_port, mix, args.seconds * 3, args.concurrency))
        )
        runner.start()
        seen = []
        for n in range(3):
            word = f"quokkaville{n}"
            path = root / f"news/2026/12/0{n + 1}/replica-check-{n}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(EVENT.format(day=n + 1, n=n))
            t0 = time.monotonic()
            urls = [lb_url, hosts[0].url, hosts[1].url]
            while not all(finds(u, word) for u in urls):
                if time.monotonic() - t0 > 120:
                    raise SystemExit(f"{path.name} not found within 120 s: see indexer.log")
                time.sleep(0.2)
            seen.append(time.monotonic() - t0)
        kill_tree(hosts[0].proc.pid)
        t_kill = time.monotonic()
        while not status(stats_port, "query1").startswith("DOWN"):
            time.sleep(0.2)
        hosts[0] = query_host(1)
        while status(stats_port, "query1") != "UP":
            time.sleep(0.2)
        back = time.monotonic() - t_kill
        t0 = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "searchsvc", "index", "--full", "--no-progress",
             "--content", str(root), "--index", str(source)],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        rebuild = time.monotonic() - t0
        _STOP.set()
        runner.join(timeout=args.seconds * 3 + 60)
        lb.terminate()
        lb.wait(timeout=10)
    finally:
        indexer.terminate()
        for host in hosts:
            host.stop()
    print(table(rows))
    print()
    during = [("under changes (2 hosts)", "value", "target")]
    during += [
        ("requests through HAProxy", str(len(results)), ""),
        ("failed (5xx or connection)", summary(results)[3], "0"),
        ("requests/s, p50, p99 ms", ", ".join(summary(results)[:3]), ""),
        (
            "new document found on both hosts and through HAProxy, s (each)",
            ", ".join(f"{s:.1f}" for s in seen),
            f"< interval ({args.interval}) + copy",
        ),
        ("query host killed -> back in rotation, s", f"{back:.1f}", ""),
        ("full rebuild on the indexing host, s", f"{rebuild:.1f}", ""),
    ]
    print(table(during))


if __name__ == "__main__":
    main()
