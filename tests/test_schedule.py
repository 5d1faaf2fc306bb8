"""Re-indexing on a schedule while serving: real server, real scheduler, real index runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import SEED_EVENT_ID, Server, clean_env, eventually, write

from searchsvc.config import SAMPLE_CONTENT

INTERVAL = 2.0


def ids(server: Server, q: str) -> list[str]:
    r = requests.get(server.url + "/search", params={"q": q}, timeout=10)
    r.raise_for_status()
    return [h["id"] for h in r.json()["hits"]]


class Watcher(threading.Thread):
    """A client searching in a loop for a word that is there all along."""

    def __init__(self, server: Server, q: str, expect: str) -> None:
        super().__init__(daemon=True)
        self.server, self.q, self.expect = server, q, expect
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.requests = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                r = requests.get(self.server.url + "/search", params={"q": self.q}, timeout=10)
                got = [h["id"] for h in r.json()["hits"]] if r.status_code == 200 else []
                if r.status_code != 200 or self.expect not in got:
                    self.failures.append(f"{r.status_code}: {r.text[:200]}")
            except requests.RequestException as exc:
                self.failures.append(repr(exc))
            self.requests += 1
            time.sleep(0.05)


@pytest.fixture
def scheduled(sample_tree, tmp_path):
    root = sample_tree
    server = Server(
        root,
        tmp_path / "ix",
        "--workers",
        "2",
        # The schedule alone: it counts the scheduler's runs (the watcher is test_live.py's).
        env={"SEARCHSVC_SCHEDULE_INTERVAL": f"{INTERVAL:g}s", "SEARCHSVC_WATCH_ENABLED": "0"},
    ).wait_ready()
    yield server, root
    server.stop()


def test_changes_follow_within_an_interval_without_errors(scheduled):
    server, root = scheduled
    started = time.monotonic()
    watcher = Watcher(server, "Douentza", SEED_EVENT_ID)
    watcher.start()
    limit = INTERVAL + 8

    new = "news/2013/03/01/zanzibar-quokka-census.md"
    write(
        root,
        new,
        "### [2013-03-01](/news/2013/03/01/index.md)\n\n"
        "# Quokkarific census in Zanzibar\n\nThe quokkarific count begins.\n",
    )
    eventually(lambda: new in ids(server, "quokkarific"), limit)

    edited = root / new
    edited.write_text(re.sub("(?i)quokkarific", "wallabyesque", edited.read_text()))
    # Every worker moves to the new generation within about a second of the commit.
    eventually(lambda: new in ids(server, "wallabyesque") and not ids(server, "quokkarific"), limit)
    time.sleep(1.5)
    for _ in range(10):
        assert ids(server, "quokkarific") == [] and new in ids(server, "wallabyesque")

    edited.unlink()
    eventually(lambda: ids(server, "wallabyesque") == [], limit)

    watcher.stop.set()
    watcher.join()
    assert watcher.requests > 20
    assert watcher.failures == []

    # One scheduler for two web workers: about one run per tick, not two.
    elapsed = time.monotonic() - started
    stats = requests.get(server.url + "/stats", timeout=10).json()
    ticks = elapsed / INTERVAL
    assert 1 <= stats["runs"] <= ticks + 2, (stats["runs"], ticks)
    assert stats["next_run"] and stats["last_run"]["error"] is None
    log = server.log.read_text()
    finished = log.count("scheduled index run finished") + log.count("skipped: another run")
    assert finished <= ticks + 2, (finished, ticks)
    assert log.count("scheduler started") == 1


def test_admin_reindex_needs_the_token(sample_tree, tmp_path):
    root = sample_tree
    server = Server(
        root, tmp_path / "ix", "--no-schedule", env={"SEARCHSVC_ADMIN_TOKEN": "s3cret-token"}
    ).wait_ready()
    try:
        url = server.url + "/admin/reindex"
        assert requests.post(url, timeout=10).status_code == 401
        bad = requests.post(url, headers={"Authorization": "Bearer nope"}, timeout=10)
        assert bad.status_code == 403 and bad.json()["error"]["code"] == "forbidden"
        write(root, "news/2013/03/02/x.md", "# Aardwolfish news\n\nAardwolfish.\n")
        ok = requests.post(url, headers={"Authorization": "Bearer s3cret-token"}, timeout=10)
        assert ok.status_code == 202, ok.text
        eventually(lambda: ids(server, "aardwolfish") == ["news/2013/03/02/x.md"], 30)
    finally:
        server.stop()


def test_admin_is_off_without_a_token(sample_tree, tmp_path):
    root = sample_tree
    server = Server(root, tmp_path / "ix", "--no-schedule").wait_ready()
    try:
        r = requests.post(
            server.url + "/admin/reindex", headers={"Authorization": "Bearer anything"}, timeout=10
        )
        assert r.status_code == 404
    finally:
        server.stop()


def big_tree(root: Path, copies: int) -> int:
    """The sample's event pages, `copies` times over under different days: a tree large
    enough for a full rebuild to take a few seconds."""
    events = [p for p in SAMPLE_CONTENT.glob("news/*/*/*/*.md") if p.name != "index.md"]
    n = 0
    for k in range(copies):
        for p in events:
            rel = p.relative_to(SAMPLE_CONTENT)
            dest = root / f"copy{k:02d}" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
            n += 1
    return n


def test_kill_during_a_full_rebuild_loses_nothing(tmp_path, cli):
    root = tmp_path / "content"
    n = big_tree(root, 12)
    ix = tmp_path / "ix"
    first = json.loads(
        cli("index", "--content", str(root), "--index", str(ix), "--json", check=True).stdout
    )
    assert first["documents"] == n

    server = Server(root, ix, "--no-schedule").wait_ready()
    watcher = None
    try:
        probe = ids(server, "Douentza")
        assert probe
        watcher = Watcher(server, "Douentza", probe[0])
        watcher.start()
        env = clean_env()
        proc = subprocess.Popen(
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
                str(ix),
            ],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        state = ix / "searchsvc-state.json"
        eventually(lambda: json.loads(state.read_text()).get("running") is not None, 30)
        time.sleep(1.0)  # well into the rebuild: workers are writing segments
        assert proc.poll() is None, "the rebuild ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

        time.sleep(1.5)  # the server keeps answering from the last good index
        health = requests.get(server.url + "/health", timeout=10).json()
        assert health["documents"] == n

        again = cli(
            "index",
            "--full",
            "--content",
            str(root),
            "--index",
            str(ix),
            "--json",
            env={"SEARCHSVC_INDEX_LOCK_TIMEOUT": "5"},
        )
        assert again.returncode == 0, again.stderr  # the stale locks do not block it
        report = json.loads(again.stdout)
        assert report["documents"] == n and report["skipped"] == []
        eventually(
            lambda: (
                requests.get(server.url + "/health", timeout=10).json()["generation"]
                > health["generation"]
            ),
            10,
        )
        assert requests.get(server.url + "/health", timeout=10).json()["documents"] == n
    finally:
        if watcher is not None:
            watcher.stop.set()
            watcher.join()
        server.stop()
    assert watcher.failures == []
