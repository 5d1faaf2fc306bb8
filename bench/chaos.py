"""Chaos benchmark: the served dev corpus under load while index runs are killed, run out
of disk and flooded with admin requests (not a timed test).

    .venv/bin/python bench/chaos.py [--seconds 180] [--baseline 60] [--concurrency 8]

First the query mix of bench/load_bench.py for `--baseline` seconds without faults, then
the same load for `--seconds` while a loop injects, at random: a full rebuild SIGKILLed at
a random moment (the run with its workers, the run alone, or one worker: what the OOM
killer does), a rebuild whose Nth write fails with ENOSPC or EIO (tests/faulty_index.py),
a flood of 50 concurrent `POST /admin/reindex`, and an ordinary run after a file changed.
Then one ordinary run, and every document of the index before the chaos is looked up in
the index after it. Prints requests served, non-2xx answers (target 0; 4xx from queries
of the mix that are bad on purpose are counted apart), 5xx or failed requests (target 0),
documents lost (target 0), files no generation refers to, index size before and after,
p50/p99 latency with and without faults, and the faults injected with their outcomes.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import UNPACKED, table, working_copy
from load_bench import _CTX, _client
from query_bench import make_prefixes, make_queries, percentile, start_server
from whoosh import index as whoosh_index

from searchsvc.config import load_config
from searchsvc.index import SearchIndex, run_index
from searchsvc.index.cleanup import orphans

log = logging.getLogger("bench")

FAULTY = Path(__file__).resolve().parents[1] / "tests" / "faulty_index.py"
CHAOS_INDEX = UNPACKED.parent / "chaos-ix"
TOKEN = "chaos-token"


def index_cmd(root: Path, *extra: str, faulty: tuple[int, str] | None = None) -> list[str]:
    head = [sys.executable, "-m", "searchsvc"]
    if faulty:
        head = [sys.executable, str(FAULTY), str(faulty[0]), faulty[1]]
    paths = ["--content", str(root), "--index", str(CHAOS_INDEX)]
    return [*head, "index", "--no-progress", *extra, *paths]


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


class Chaos(threading.Thread):
    """Injects faults one after another until stopped; records what each did."""

    def __init__(self, root: Path, port: int, seed: int) -> None:
        super().__init__(daemon=True)
        self.root, self.url = root, f"http://127.0.0.1:{port}"
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.pages = sorted(root.glob("news/*/*/*/*.md"))

    def run(self) -> None:
        faults = [self.kill, self.kill_worker, self.disk_fault, self.flood, self.ordinary]
        while not self.stop.is_set():
            fault = self.rng.choice(faults)
            try:
                outcome = fault()
            except Exception as exc:  # counted, and the chaos goes on
                outcome = f"bench error {type(exc).__name__}: {exc}"
            self.outcomes[f"{fault.__name__}: {outcome}"] += 1
            log.info("%s: %s", fault.__name__, outcome)
            self.stop.wait(self.rng.uniform(0.5, 3))

    def _start(self, *extra: str, faulty: tuple[int, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            index_cmd(self.root, *extra, faulty=faulty),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> str:
        proc = self._start("--full")
        self.stop.wait(self.rng.uniform(1, 20))
        how = self.rng.choice(["group", "run"])
        with contextlib.suppress(ProcessLookupError):
            if how == "group":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                os.kill(proc.pid, signal.SIGKILL)
        return f"{how} killed, exit {proc.wait()}"

    def kill_worker(self) -> str:
        proc = self._start("--full")
        deadline = time.time() + 60
        while not (workers := children(proc.pid)) and proc.poll() is None:
            if time.time() > deadline:
                break
            time.sleep(0.05)
        self.stop.wait(self.rng.uniform(0, 10))
        if workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.rng.choice(workers), signal.SIGKILL)
        return f"exit {proc.wait()}"

    def disk_fault(self) -> str:
        """A full rebuild whose Nth write, fsync or rename fails (in the run or in a
        worker, each counting its own); one that has not failed within a while is killed,
        so that the next fault comes (a niced rebuild under load takes minutes)."""
        n, err = self.rng.randint(1, 300), self.rng.choice(["ENOSPC", "EIO"])
        proc = self._start("--full", faulty=(n, err))
        try:
            return f"{err}, exit {proc.wait(timeout=30)}"
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            return f"{err} not reached within 30 s, killed: exit {proc.wait()}"

    def flood(self) -> str:
        def post(_: int) -> int:
            r = requests.post(
                self.url + "/admin/reindex",
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=30,
            )
            return r.status_code

        with ThreadPoolExecutor(50) as pool:
            codes = collections.Counter(pool.map(post, range(50)))
        return ", ".join(f"{k}x{v}" for k, v in sorted(codes.items()))

    def ordinary(self) -> str:
        page = self.rng.choice(self.pages)
        os.utime(page)
        return f"exit {self._start().wait()}"


def load(
    port: int, mix: list[str], concurrency: int, seconds: float, during: Chaos | None = None
) -> list[tuple]:
    deadline = time.time() + seconds
    shares = [(port, mix[k::concurrency] or mix, deadline) for k in range(concurrency)]
    with _CTX.Pool(concurrency) as pool:
        pending = pool.map_async(_client, shares)
        if during is not None:
            # Only now that the clients are forked: a client forked while the chaos thread
            # starts a run would inherit the pipe Popen waits on, and Popen would wait for ever.
            during.start()
        return [r for share in pending.get() for r in share]


def all_ids(index_dir: Path) -> set[str]:
    with whoosh_index.open_dir(str(index_dir)).searcher() as s:
        return {fields["id"] for fields in s.all_stored_fields()}


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file()) / 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=180)
    p.add_argument("--baseline", type=float, default=60)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    root = working_copy("chaos-content")  # its files are touched
    config = load_config(env={}, flags={"content.root": str(root), "index.dir": str(CHAOS_INDEX)})
    log.info("indexing: %s", run_index(config, progress=False).lines()[0])
    before_ids, before_mb = all_ids(CHAOS_INDEX), folder_mb(CHAOS_INDEX)
    index = SearchIndex(config)
    searches, related = make_queries(index, 1000)
    prefixes = make_prefixes(index, 1000)
    mix = []
    for k, path in enumerate(searches):  # the load benchmark's mix
        mix.append(path)
        if k % 8 == 0:
            mix += [related[k], prefixes[k]]

    os.environ["SEARCHSVC_ADMIN_TOKEN"] = TOKEN
    server, port = start_server(root, CHAOS_INDEX)
    chaos = Chaos(root, port, args.seed)
    try:
        load(port, mix[:100], 2, 3)  # warm up
        calm = load(port, mix, args.concurrency, args.baseline)
        stormy = load(port, mix, args.concurrency, args.seconds, during=chaos)
        chaos.stop.set()
        chaos.join(timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=20)

    final = run_index(config, progress=False)  # an ordinary run after the chaos
    after_ids = all_ids(CHAOS_INDEX)
    lost = before_ids - after_ids
    rows = [("metric", "no faults", "with faults", "target")]

    def col(rs: list[tuple], what: str) -> str:
        lat = [r[1] * 1000 for r in rs]
        return {
            "n": str(len(rs)),
            "non2xx": str(sum(1 for r in rs if not 200 <= r[2] < 300)),
            "4xx": str(sum(1 for r in rs if 400 <= r[2] < 500)),
            "bad": str(sum(1 for r in rs if r[2] == 0 or r[2] >= 500)),
            "p50": f"{statistics.median(lat):.1f}",
            "p99": f"{percentile(lat, 99):.1f}",
        }[what]

    rows += [
        ("requests served", col(calm, "n"), col(stormy, "n"), ""),
        ("non-2xx answers", col(calm, "non2xx"), col(stormy, "non2xx"), "0 (but 4xx)"),
        ("  of which 4xx (bad queries of the mix)", col(calm, "4xx"), col(stormy, "4xx"), ""),
        ("5xx or failed", col(calm, "bad"), col(stormy, "bad"), "0"),
        ("p50, ms", col(calm, "p50"), col(stormy, "p50"), ""),
        ("p99, ms", col(calm, "p99"), col(stormy, "p99"), ""),
        ("documents lost", "", str(len(lost)), "0"),
        ("files no generation refers to, after", "", str(len(orphans(CHAOS_INDEX))), "0"),
        ("index MB before / after", f"{before_mb:.1f}", f"{folder_mb(CHAOS_INDEX):.1f}", ""),
    ]
    print(table(rows))
    print(f"\nfinal ordinary run: {final.lines()[0]}")
    print(f"faults injected (seed {args.seed}), {sum(chaos.outcomes.values())} in all:")
    for outcome, n in sorted(chaos.outcomes.items()):
        print(f"  {n:3} x {outcome}")
    print(f"concurrency {args.concurrency}; {args.baseline:.0f} s calm, {args.seconds:.0f} s chaos")


if __name__ == "__main__":
    main()
