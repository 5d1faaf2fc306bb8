"""deploy/haproxy.cfg in front of two real query hosts (`searchsvc serve --follow`): a
host killed with SIGKILL under load costs no reader a failed request, and it is put back
in rotation once it answers again."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import ROOT, Server, config_for, eventually, free_port

from searchsvc.index import run_index

pytestmark = pytest.mark.skipif(
    shutil.which("haproxy") is None or shutil.which("rsync") is None,
    reason="haproxy or rsync not installed (Debian: apt install haproxy rsync)",
)
CONFIG = ROOT / "deploy" / "haproxy.cfg"


def render(port: int, stats_port: int, hosts: list[int]) -> str:
    """The documented configuration, with this machine's ports for its addresses."""
    text = CONFIG.read_text()
    text = text.replace("bind :8080", f"bind 127.0.0.1:{port}")
    text = re.sub(r"\n    server .*", "", text)
    servers = "".join(f"\n    server query{n} 127.0.0.1:{p} check" for n, p in enumerate(hosts, 1))
    text = text.rstrip() + servers + "\n"
    return text + (
        f"\nlisten stats\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /\n"
    )


def status(stats_port: int, name: str) -> str:
    csv = requests.get(f"http://127.0.0.1:{stats_port}/;csv", timeout=5).text
    for line in csv.splitlines():
        cells = line.split(",")
        if cells[0] == "searchsvc" and cells[1] == name:
            return cells[17]  # the status column: UP, DOWN, ...
    return "?"


def kill_tree(pid: int) -> None:
    """SIGKILL a server and every process it started (its workers, its follower)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    for child in children.stdout.split():
        kill_tree(int(child))
    with_signal = subprocess.run(["kill", f"-{signal.SIGKILL.value}", str(pid)], check=False)
    assert with_signal.returncode in (0, 1)


def test_the_configuration_is_valid():
    done = subprocess.run(["haproxy", "-c", "-f", str(CONFIG)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_query_host_killed_under_load_costs_no_request(tree: Path, tmp_path: Path):
    source = tmp_path / "indexer"
    run_index(config_for(tree, source), progress=False)
    ports = [free_port(), free_port()]
    hosts = [
        Server(tree, tmp_path / f"q{n}", "--follow", str(source), "--workers", "1", port=p)
        for n, p in enumerate(ports, 1)
    ]
    lb_port, stats_port = free_port(), free_port()
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(render(lb_port, stats_port, ports))
    lb = subprocess.Popen(
        ["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    results: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def readers() -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                r = session.get(
                    f"http://127.0.0.1:{lb_port}/search", params={"q": "Douentza"}, timeout=10
                )
                results.append(r.status_code)
            except requests.RequestException as exc:
                results.append(0)
                errors.append(repr(exc))

    try:
        for host in hosts:
            host.wait_ready()
        eventually(lambda: status(stats_port, "query1") == status(stats_port, "query2") == "UP",
                   timeout=30)  # fmt: skip
        threads = [threading.Thread(target=readers) for _ in range(4)]
        for t in threads:
            t.start()
        eventually(lambda: len(results) > 50, timeout=30)
        kill_tree(hosts[0].proc.pid)
        eventually(lambda: status(stats_port, "query1").startswith("DOWN"), timeout=30)
        served_while_down = len(results)
        eventually(lambda: len(results) > served_while_down + 50, timeout=30)
        hosts[0]._out.close()
        hosts[0] = Server(
            tree, tmp_path / "q1", "--follow", str(source), "--workers", "1", port=ports[0]
        ).wait_ready()
        eventually(lambda: status(stats_port, "query1") == "UP", timeout=30)
        time.sleep(0.5)  # a few requests to the host that came back
        stop.set()
        for t in threads:
            t.join(timeout=30)
    finally:
        stop.set()
        lb.terminate()
        lb.wait(timeout=10)
        for host in hosts:
            host.stop()
    failed = [s for s in results if s != 200]
    assert len(results) > 100
    assert failed == [], f"{len(failed)} of {len(results)} requests failed: {set(failed)} {errors}"
