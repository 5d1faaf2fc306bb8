"""`POST /admin/reindex` under a flood: at most one run at work and one waiting, across the
web workers (separate processes), every request answered at once. Real server, real runs."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from conftest import Server, eventually, write

TOKEN = "s3cret-token"


def index_processes(ix: Path) -> set[int]:
    """`searchsvc index` processes on this index (runs, not their pool workers)."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ours = b"searchsvc" in argv and b"index" in argv and str(ix).encode() in argv
        if ours and stat[0] != "Z":
            found[int(entry.name)] = int(stat[1])
    return {pid for pid, parent in found.items() if parent not in found}


def found(server: Server, q: str) -> list[str]:
    hits = requests.get(server.url + "/search", params={"q": q}, timeout=10).json()["hits"]
    return [h["id"] for h in hits]


class Counter(threading.Thread):
    """Counts the index processes alive at once, as often as it can."""

    def __init__(self, ix: Path) -> None:
        super().__init__(daemon=True)
        self.ix, self.most, self.seen = ix, 0, set[int]()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            procs = index_processes(self.ix)
            self.most = max(self.most, len(procs))
            self.seen |= procs
            time.sleep(0.005)


def test_a_flood_of_reindex_requests_runs_at_most_two_index_processes(sample_tree, tmp_path):
    root, ix = sample_tree, tmp_path / "ix"
    server = Server(
        root, ix, "--no-schedule", "--workers", "2", env={"SEARCHSVC_ADMIN_TOKEN": TOKEN}
    ).wait_ready()
    counter = Counter(ix)
    try:
        write(root, "news/2013/03/02/x.md", "# Aardwolfish news\n\nAardwolfish.\n")
        counter.start()

        def post(_: int) -> requests.Response:
            return requests.post(
                server.url + "/admin/reindex",
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=10,  # answered at once, not when a run ends
            )

        with ThreadPoolExecutor(80) as pool:
            answers = list(pool.map(post, range(80)))
        eventually(lambda: not index_processes(ix), 60)
        counter.stop.set()
        counter.join()

        codes = [a.status_code for a in answers]
        assert set(codes) <= {202, 409}, codes
        accepted = [a.json() for a in answers if a.status_code == 202]
        assert accepted and all(a["status"] == "started" for a in accepted)
        assert counter.most <= 2, counter.seen
        assert 1 <= len({a["run"] for a in accepted}) <= len(counter.seen)
        assert sum(a["joined"] for a in accepted) >= len(accepted) - len(counter.seen)
        # The change made before the requests is in (served within a second of the commit).
        eventually(lambda: found(server, "aardwolfish") == ["news/2013/03/02/x.md"], 10)
    finally:
        counter.stop.set()
        server.stop()
