"""Slow clients cannot stall the service: `searchsvc serve` as configured by default keeps
answering while connections trickle their headers or send nothing, and closes those
connections itself after `server.timeout`."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from conftest import Server

# The head a slow client sends, one byte at a time.
SLOW_HEAD = b"GET /search?q=Mali HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"


class SlowClients:
    """`trickling` connections that send SLOW_HEAD a byte every 0.5 s and `idle` ones that
    send nothing; each records what the server answered and when it closed."""

    def __init__(self, port: int, trickling: int, idle: int) -> None:
        self.stop = threading.Event()
        self.closed: list[tuple[str, float, bytes]] = []  # (kind, seconds open, answer)
        self.t0 = time.monotonic()
        self.threads = [
            threading.Thread(target=self._run, args=(port, kind), daemon=True)
            for kind in ["trickling"] * trickling + ["idle"] * idle
        ]
        for t in self.threads:
            t.start()

    def _run(self, port: int, kind: str) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.settimeout(0.5)
            sent = 0
            answer = b""
            while not self.stop.is_set():
                if kind == "trickling" and sent < len(SLOW_HEAD):
                    try:
                        s.send(SLOW_HEAD[sent : sent + 1])
                    except OSError:
                        break
                    sent += 1
                try:
                    data = s.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                answer += data
            if not self.stop.is_set():
                self.closed.append((kind, time.monotonic() - self.t0, answer))

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=5)


@pytest.fixture
def serve(sample_index) -> Iterator:
    servers: list[Server] = []

    def start(**env: str) -> Server:
        srv = Server(sample_index / "content", sample_index / "ix", "--no-schedule", env=env)
        servers.append(srv)
        return srv.wait_ready()

    yield start
    for srv in servers:
        srv.stop()


def test_slow_clients_do_not_stall_other_requests(serve):
    server = serve()  # the default settings: 2 workers, 1 thread each
    slow = SlowClients(server.port, trickling=4, idle=4)
    try:
        time.sleep(1.5)  # every slow connection accepted and sending
        for _ in range(6):
            # A liveness bound, not a speed assertion: with sync workers these waited for
            # the 30 s worker timeout.
            r = requests.get(server.url + "/search", params={"q": "Mali"}, timeout=5)
            assert r.status_code == 200 and r.json()["total"] > 0
        assert not slow.closed  # the slow ones are still open, not dropped to make room
    finally:
        slow.finish()


def test_idle_and_trickling_connections_are_closed_by_the_server(serve):
    server = serve(SEARCHSVC_SERVER_TIMEOUT="3")
    slow = SlowClients(server.port, trickling=2, idle=2)
    try:
        deadline = time.monotonic() + 20
        while len(slow.closed) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sorted(kind for kind, _, _ in slow.closed) == ["idle"] * 2 + ["trickling"] * 2
        for kind, seconds, answer in slow.closed:
            assert seconds >= 2.5, (kind, seconds)  # not before the timeout
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408"), answer[:200]
            assert b"X-Content-Type-Options: nosniff" in head
            assert b'"code": "request_timeout"' in body
        r = requests.get(server.url + "/search", params={"q": "Mali"}, timeout=5)
        assert r.status_code == 200
    finally:
        slow.finish()
