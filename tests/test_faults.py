"""Faults while serving: the index directory disappears, turns read-only, or is damaged;
answers are a 503 with a reason, and service comes back without a restart."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import requests
from conftest import Server, eventually


def status(server: Server, path: str, **params) -> tuple[int, dict]:
    r = requests.get(server.url + path, params=params, timeout=10)
    return r.status_code, r.json()


def wait_status(server: Server, path: str, code: int, timeout: float = 15, **params) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        got, body = status(server, path, **params)
        if got == code:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"{path}: {got} {body}, not {code}")
        time.sleep(0.2)


def last_run(server: Server) -> dict:
    return status(server, "/stats")[1]["last_run"] or {}


@pytest.fixture
def served(sample_tree, tmp_path, cli):
    root = sample_tree
    ix = tmp_path / "ix"
    cli("index", "--content", str(root), "--index", str(ix), check=True)
    server = Server(root, ix, "--no-schedule").wait_ready()
    yield server, root, ix
    server.stop()


def test_index_directory_disappears_and_comes_back(served):
    server, _, ix = served
    assert status(server, "/search", q="Douentza")[0] == 200
    away = ix.with_name("ix-away")
    ix.rename(away)
    try:
        health = wait_status(server, "/health", 503)
        assert health["error"]["code"] == "unavailable" and health["error"]["message"]
        body = wait_status(server, "/search", 503, q="Douentza")  # every thread, within 1 s
        assert body["error"]["message"]
        assert str(ix) not in str(body) and str(away) not in str(body)  # no paths
    finally:
        away.rename(ix)
    wait_status(server, "/health", 200)
    assert status(server, "/search", q="Douentza")[1]["total"] >= 1


def test_read_only_index_directory(served):
    server, _, ix = served
    mounted = subprocess.run(["mount", "--bind", str(ix), str(ix)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot bind-mount here (not root?): " + mounted.stderr.decode()[:200])
    try:
        ro = subprocess.run(["mount", "-o", "remount,bind,ro", str(ix)], capture_output=True)
        assert ro.returncode == 0, ro.stderr
        health = wait_status(server, "/health", 503)
        assert "read-only" in health["error"]["message"]
        # Searches go on from the index there is (stale rather than down).
        assert status(server, "/search", q="Douentza")[1]["total"] >= 1
    finally:
        # Lazy: a searcher opened meanwhile holds segment files through the mount.
        subprocess.run(["umount", "--lazy", str(ix)], check=True)
    wait_status(server, "/health", 200)


def test_damaged_segment_is_detected_at_start_and_rebuilt(sample_tree, tmp_path, cli):
    root = sample_tree
    ix = tmp_path / "ix"
    cli("index", "--content", str(root), "--index", str(ix), check=True)
    segment = max(ix.glob("*.seg"), key=lambda p: p.stat().st_size)
    with open(segment, "r+b") as f:  # damage in the middle: the file still opens
        f.seek(segment.stat().st_size // 3)
        f.write(b"\x00" * 4096)

    (root / "news/2012/11/05/index.md").write_text("# 2012-11-05\n", encoding="utf-8")
    incremental = cli("index", "--content", str(root), "--index", str(ix))
    assert incremental.returncode == 73 and "--full" in incremental.stderr

    server = Server(root, ix, "--no-schedule").wait_ready()
    try:
        health = wait_status(server, "/health", 503)
        assert "damaged" in health["error"]["message"]
        assert "searchsvc index --full" in health["error"]["message"]
        assert "damaged" in server.log.read_text()
        rebuilt = cli("index", "--full", "--content", str(root), "--index", str(ix))
        assert rebuilt.returncode == 0, rebuilt.stderr
        wait_status(server, "/health", 200)
        assert status(server, "/search", q="Douentza")[1]["total"] >= 1
    finally:
        server.stop()


def test_a_failed_scheduled_run_is_recorded_and_retried(sample_tree, tmp_path):
    root = sample_tree
    ix = tmp_path / "ix"
    env = {"SEARCHSVC_SCHEDULE_INTERVAL": "1s", "SEARCHSVC_WATCH_ENABLED": "0"}  # the schedule's
    server = Server(root, ix, env=env).wait_ready()
    try:
        hidden = root.with_name("content-away")
        root.rename(hidden)  # the next runs fail: no content root
        eventually(lambda: last_run(server).get("error"), 20)
        # The run's error reaches /stats a moment before the scheduler's line, the log.
        eventually(lambda: "scheduled index run failed" in server.log.read_text(), 10)
        assert status(server, "/search", q="Douentza")[1]["total"] >= 1  # nothing lost
        hidden.rename(root)
        os.utime(root / "news")  # and the next tick succeeds again
        eventually(lambda: (run := last_run(server)).get("report") and run.get("error") is None, 20)
    finally:
        server.stop()
