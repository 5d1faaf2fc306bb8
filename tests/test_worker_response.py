"""The worker's responses leave in one write, head and body (searchsvc/worker.py): a
worker killed between two writes left a client behind a proxy with a truncated answer.

Over a real socket pair, with gunicorn's own parser and response; only `sendall` is
recorded, to count the writes.
"""

from __future__ import annotations

import socket

import pytest
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from searchsvc.worker import WholeResponse

ADDR = ("127.0.0.1", 8000)


class Recorded:
    """A socket whose writes are recorded (and made)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.writes: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.sock.sendall(data)

    def __getattr__(self, name: str):
        return getattr(self.sock, name)


def answer(response_class, method: str, headers, body: list[bytes]) -> list[bytes]:
    server, client = socket.socketpair()
    with server, client:
        client.sendall(f"{method} /search?q=x HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        cfg = Config()
        req = next(iter(RequestParser(cfg, server, ADDR)))
        sock = Recorded(server)
        resp, _environ = wsgi.create(req, sock, ADDR, ADDR, cfg, response_class=response_class)
        resp.start_response("200 OK", headers)
        for part in body:
            resp.write(part)
        resp.close()
        return sock.writes


JSON = [("Content-Type", "application/json"), ("Content-Length", "11")]


def test_head_and_body_leave_in_one_write():
    writes = answer(WholeResponse, "GET", JSON, [b'{"total":1}'])
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b"\r\n\r\n" + b'{"total":1}')
    # gunicorn's own response writes them apart: what this guards against.
    assert len(answer(wsgi.Response, "GET", JSON, [b'{"total":1}'])) == 2


@pytest.mark.parametrize(
    ("method", "headers", "body"),
    [
        ("HEAD", JSON, [b'{"total":1}']),  # no body is sent
        ("GET", [("Content-Length", "0")], []),  # an empty body
    ],
)
def test_a_head_alone_is_still_sent(method, headers, body):
    writes = answer(WholeResponse, method, headers, body)
    assert len(writes) == 1 and writes[0].endswith(b"\r\n\r\n")


def test_a_chunked_body_is_framed_after_the_head():
    writes = answer(WholeResponse, "GET", [("Content-Type", "text/plain")], [b"abc", b"de"])
    joined = b"".join(writes)
    head, _, rest = joined.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert rest == b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    assert len(writes) == 3 and writes[0].endswith(b"\r\n\r\n3\r\nabc\r\n")
