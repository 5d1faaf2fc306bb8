"""Live-update benchmark: how soon an edit is searchable, with the server under query load.

    .venv/bin/python bench/live_bench.py [--edits 50] [--concurrency 32] [--baseline 15]

On a working copy of the dev corpus, `searchsvc serve` runs with the file watcher on (the
schedule off, so the watcher and the pushes are the only indexers) and an admin token,
under the query load of bench/load_bench.py (its clients and query mix, at `--concurrency`).
First `--baseline` seconds of load alone, then, one after the other:

- `--edits` file edits: a file written (half new event pages, half existing ones rewritten
  in place) and closed; the time from the write's return to the first `/search` that
  finds the edit's new word (polled every 20 ms);
- `--edits` pushes: `PUT /admin/documents/<id>`; the time from the answer to that search.

Prints p50/p95 of both (target: p95 <= 1.5 s) and the load's p50/p99 during the baseline
and during the edits (target: p99 < 200 ms while they happen).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import BENCH, corpus, table
from load_bench import _CTX, _STOP, _client
from query_bench import make_prefixes, make_queries, percentile

from searchsvc.config import load_config
from searchsvc.index import SearchIndex, run_index
from searchsvc.index.schema import stored_hit

log = logging.getLogger("bench")
TOKEN = "live-bench-token"
EVENT = "### [2099-01-{day:02}](/news/2099/01/{day:02}/index.md)\n\n# {title}\n\n{body}\n"


def word(n: int) -> str:
    """A word no document holds, letters only (the analyzer keeps it whole)."""
    letters = ""
    n += 26 * 26
    while n:
        n, r = divmod(n, 26)
        letters = "abcdefghijklmnopqrstuvwxyz"[r] + letters
    return f"zyqx{letters}"


def found(port: int, q: str, doc_id: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", f"/search?q={quote(q)}")
        body = json.loads(conn.getresponse().read())
    except (OSError, http.client.HTTPException, ValueError):
        return False  # counted as not yet: the next poll asks again
    finally:
        conn.close()
    return any(h["id"] == doc_id for h in body.get("hits", []))


def until_found(port: int, q: str, doc_id: str, t0: float, limit: float = 60.0) -> float:
    while time.perf_counter() - t0 < limit:
        if found(port, q, doc_id):
            return time.perf_counter() - t0
        time.sleep(0.02)
    raise SystemExit(f"{doc_id} not searchable for {q!r} within {limit:g} s")


def push(port: int, doc_id: str, text: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "PUT",
            f"/admin/documents/{quote(doc_id)}",
            body=text.encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/markdown"},
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _proc_times(pid: int) -> tuple[float, float, int]:
    """(own CPU s, CPU s of its reaped children, parent pid) of a process, from /proc."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    own = (int(fields[11]) + int(fields[12])) / tick
    children = (int(fields[13]) + int(fields[14])) / tick
    return own, children, int(fields[1])


def cpu_by_role(server: int) -> dict[str, float]:
    """CPU seconds used so far by the server's processes, by role: the web workers
    (serving, and switching to each new generation), the processes they started (push
    runs), the scheduler's process (the watcher) and the runs it started or forked. A
    child's CPU counts once it has ended (and been waited for)."""
    procs = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                procs[int(entry)] = _proc_times(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    roles = dict.fromkeys(
        ("web workers", "runs started by web workers", "watcher", "runs started by watcher"),
        0.0,
    )
    for pid, (own, children, ppid) in procs.items():
        if ppid != server:
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        who = "watcher" if b"schedule" in cmd else "web workers"
        roles[who] += own
        roles["runs started by watcher" if who == "watcher" else "runs started by web workers"] += (
            children
        )
    return roles


def start(root: Path, index_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {
        "SEARCHSVC_ADMIN_TOKEN": TOKEN,
        "SEARCHSVC_SCHEDULE_ENABLED": "0",
        "SEARCHSVC_WATCH_ENABLED": "1",
    }
    out = open(index_dir.parent / "live-serve.log", "w")  # noqa: SIM115 - lives with the server
    cmd = [sys.executable, "-m", "searchsvc", "serve", "--port", str(port)]
    cmd += ["--content", str(root), "--index", str(index_dir)]
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start: see live-serve.log")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--edits", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--baseline", type=float, default=15, help="seconds of load alone first")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    work = BENCH / "live"
    root, index_dir = work / "content", work / "ix"
    if not root.is_dir():
        log.info("copying the dev corpus to %s", root)
        shutil.copytree(corpus("dev"), root)
    shutil.rmtree(root / "news" / "2099", ignore_errors=True)  # an earlier run's edits
    config = load_config(env={}, flags={"content.root": str(root), "index.dir": str(index_dir)})
    log.info("indexing: %s", run_index(config, progress=False).lines()[0])
    index = SearchIndex(config)
    searches, related = make_queries(index, 1000)
    prefixes = make_prefixes(index, 1000)
    docs = [stored_hit(d) for d in index.searcher().all_stored_fields()]
    events = sorted(d["id"] for d in docs if d["kind"] == "event")
    mix = []
    for k, path in enumerate(searches):  # 8 searches : 1 related : 1 completion
        mix.append(path)
        if k % 8 == 0:
            mix += [related[k], prefixes[k]]
    rng = random.Random(2026)

    server, port = start(root, index_dir)
    file_lat: list[float] = []
    push_lat: list[float] = []
    push_answer: list[float] = []
    try:
        _client((port, mix[:100], time.time() + 3))  # warm up
        shares = [
            (port, mix[k :: args.concurrency] or mix, time.time() + 3600)
            for k in range(args.concurrency)
        ]  # none with --concurrency 0: the edits alone
        with _CTX.Pool(max(1, args.concurrency)) as pool:
            pending = pool.map_async(_client, shares)
            began = time.time()
            time.sleep(2)
            cpu_base = cpu_by_role(server.pid)
            time.sleep(args.baseline - 2)
            cpu_before = cpu_by_role(server.pid)
            edits_began = time.time()
            for n in range(args.edits):
                w = word(n)
                if n % 2 == 0:  # a new event page
                    doc_id = f"news/2099/01/{n % 28 + 1:02}/live-{w}.md"
                    text = EVENT.format(day=n % 28 + 1, title=f"Live edit {w}", body=w)
                    path = root / doc_id
                    path.parent.mkdir(parents=True, exist_ok=True)
                else:  # an existing page rewritten in place, its title changed
                    while "\n# " not in (
                        old := (root / (doc_id := rng.choice(events))).read_text()
                    ):
                        pass  # a page whose title is a "# " heading
                    path = root / doc_id
                    text = old.replace("\n# ", f"\n# {w} ", 1)
                with open(path, "r+" if path.exists() else "w", encoding="utf-8") as f:
                    f.write(text)
                    f.truncate()
                t0 = time.perf_counter()
                file_lat.append(until_found(port, w, doc_id, t0))
                time.sleep(rng.uniform(0.1, 0.5))
            pushes_began = time.time()
            for n in range(args.edits, 2 * args.edits):
                w = word(n)
                doc_id = f"news/2099/02/{n % 28 + 1:02}/push-{w}.md"
                text = EVENT.format(day=n % 28 + 1, title=f"Pushed {w}", body=w)
                t = time.perf_counter()
                status = push(port, doc_id, text)
                t0 = time.perf_counter()
                if status not in (200, 201, 202):
                    raise SystemExit(f"PUT {doc_id}: {status}")
                push_answer.append(t0 - t)
                push_lat.append(until_found(port, w, doc_id, t0))
                time.sleep(rng.uniform(0.1, 0.5))
            edits_ended = time.time()
            cpu_after = cpu_by_role(server.pid)
            _STOP.set()
            results = pending.get()
    finally:
        server.terminate()
        server.wait(timeout=20)

    flat = [r for share in results for r in share]
    base = [r[1] * 1000 for r in flat if began + 2 <= r[0] < edits_began] or [0.0]
    during = [r[1] * 1000 for r in flat if edits_began <= r[0] <= edits_ended] or [0.0]
    phases = {
        "file edits": [r[1] * 1000 for r in flat if edits_began <= r[0] < pushes_began] or [0.0],
        "pushes": [r[1] * 1000 for r in flat if pushes_began <= r[0] <= edits_ended] or [0.0],
    }
    spans = {"file edits": pushes_began - edits_began, "pushes": edits_ended - pushes_began}
    errors = sum(1 for r in flat if r[2] == 0 or r[2] >= 500)
    span = edits_ended - edits_began

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f} / {percentile(values, 95) * 1000:.0f}"

    rows = [("metric", "value", "target")]
    rows += [
        (
            f"file written -> searchable, p50 / p95 ms ({len(file_lat)})",
            ms(file_lat),
            "p95 <= 1500",
        ),
        (
            f"PUT answered -> searchable, p50 / p95 ms ({len(push_lat)})",
            ms(push_lat),
            "p95 <= 1500",
        ),
        ("PUT answer time, p50 / p95 ms", ms(push_answer), ""),
        (
            "load alone: requests/s, p50 / p99 ms",
            f"{len(base) / (edits_began - began - 2):.0f}, "
            f"{statistics.median(base):.1f} / {percentile(base, 99):.1f}",
            "",
        ),
        (
            "load during the edits: requests/s, p50 / p99 ms",
            f"{len(during) / span:.0f}, "
            f"{statistics.median(during):.1f} / {percentile(during, 99):.1f}",
            "p99 < 200",
        ),
        *[
            (
                f"  of which during the {name}",
                f"{len(values) / spans[name]:.0f}, "
                f"{statistics.median(values):.1f} / {percentile(values, 99):.1f}",
                "",
            )
            for name, values in phases.items()
        ],
        ("errors (5xx or failed)", str(errors), "0"),
    ]
    print(table(rows))
    cpu = [("server's CPU, cores (of 2)", "load alone", "during the edits")]
    for role, seconds in cpu_after.items():
        alone = (cpu_before[role] - cpu_base[role]) / (edits_began - began - 2)
        used = (seconds - cpu_before[role]) / span
        cpu.append((role, f"{alone:.2f}", f"{used:.2f}"))
    print()
    print(table(cpu))
    print(
        f"\nconcurrency {args.concurrency}; {args.edits} file edits then {args.edits} pushes "
        f"over {span:.0f} s; watch.debounce {config.watch.debounce:g} s"
    )


if __name__ == "__main__":
    main()
