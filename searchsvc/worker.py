"""The gunicorn worker of `searchsvc serve`: slow clients cost a socket, not a worker.

Gunicorn's sync worker reads a request on the worker itself, so a client that sends its
headers a byte at a time (or nothing) holds one of the few workers until `timeout`, and
every other request waits. Its gthread worker hands a connection to a thread as soon as
the first byte arrives, and the thread then waits for the rest; it also accepts every
connection while its threads are busy, so a request can wait behind slow clients on one
worker while the other is idle.

This worker is gunicorn's gthread worker with two changes:

- the request head (request line and headers) is read in the worker's selector loop,
  without a thread; only a complete head is handed to a thread. A connection that has not
  sent a complete head within `timeout` seconds is answered 408 and closed, so idle and
  trickling connections are closed by the server.
- it accepts a new connection only while one of its `threads` is free, like the sync
  worker, so the kernel's accept queue hands each connection to a worker that can answer
  it now (the fairness the sync workers were chosen for; see config.toml). Keep-alive is
  off for the same reason (`keepalive = 0`): each request goes through that queue.

A request body is still read by the thread (bodies are small here and the API reads none
but the admin's); floods of connections need a proxy in front (README, Reliability).

Its responses (`WholeResponse`) send the head with the first part of the body, in one
write: gunicorn writes them apart, and a worker killed between the two writes left a
client behind a proxy, which had passed the head on, with a truncated answer no retry could
mend (`tests/test_haproxy.py` saw it about once in six SIGKILLs).
"""

from __future__ import annotations

import contextlib
import errno
import json
import selectors
import time
from functools import partial
from typing import Any

from gunicorn.http import wsgi
from gunicorn.workers.gthread import ThreadWorker

HEAD_END = (b"\r\n\r\n", b"\n\n")
READ_CHUNK = 16 * 1024


def _timeout_answer() -> bytes:
    from searchsvc.web import SECURITY_HEADERS
    from searchsvc.web.errors import CODES

    body = json.dumps(
        {"error": {"code": CODES[408], "message": "request not received in time"}}
    ).encode()
    headers = "".join(f"{k}: {v}\r\n" for k, v in SECURITY_HEADERS.items())
    return (
        "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    ).encode() + body


class WholeResponse(wsgi.Response):  # type: ignore[misc]
    """gunicorn's response, its head held back until the first body bytes (or the end)
    and sent with them in one write."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = b""

    def send_headers(self) -> None:
        if self.headers_sent:
            return
        sock, self.sock = self.sock, _Held()
        try:
            super().send_headers()  # writes the head into _Held
        finally:
            self._head, self.sock = b"".join(self.sock.parts), sock

    def _emit_body(self, data: bytes) -> None:
        if not self._head:
            super()._emit_body(data)
            return
        if self.chunked:
            data = b"%X\r\n%s\r\n" % (len(data), data)
        head, self._head = self._head, b""
        self.sock.sendall(head + data)

    def _send_head(self) -> None:
        head, self._head = self._head, b""
        if head:
            self.sock.sendall(head)

    def sendfile(self, respiter: Any) -> bool:
        self.send_headers()
        self._send_head()  # a file goes out by sendfile(2), after the head
        return bool(super().sendfile(respiter))

    def close(self) -> None:
        self.send_headers()
        self._send_head()  # no body, or an empty one
        super().close()


class _Held:
    """Where `WholeResponse.send_headers` writes the head, to be sent later."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.parts.append(bytes(data))


class HeadFirstWorker(ThreadWorker):  # type: ignore[misc]
    """A gthread worker that reads request heads in its selector and accepts connections
    only while a thread is free (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_flight = 0  # requests handed to the thread pool and not finished
        self.reading: dict[Any, tuple[float, bytearray]] = {}  # conn -> (deadline, head)
        self.head_limit = self.cfg.limit_request_line + self.cfg.limit_request_fields * (
            self.cfg.limit_request_field_size + 2
        )
        self.timeout_answer = _timeout_answer()

    def init_process(self) -> None:
        wsgi.Response = WholeResponse  # what wsgi.create makes, in this worker's process
        super().init_process()

    # A new connection (or a kept-alive one with a new request): read its head first.
    def enqueue_req(self, conn: Any) -> None:
        if conn.initialized:  # a connection gunicorn already parses: as gthread does
            self._submit(conn)
            return
        conn.sock.setblocking(False)
        self.reading[conn] = (time.monotonic() + self.cfg.timeout, bytearray())
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: Any, _sock: Any) -> None:
        _deadline, head = self.reading[conn]
        try:
            data = conn.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._drop(conn)
            return
        head += data
        if any(end in head for end in HEAD_END) or len(head) > self.head_limit:
            # Complete (or too long: the parser answers that with its own error).
            self.poller.unregister(conn.sock)
            del self.reading[conn]
            try:
                conn.init()
                conn.parser.unreader.unread(bytes(head))
            except Exception:  # never let one connection stop the worker's loop
                self.log.exception("cannot start reading a request")
                self.nr_conns -= 1
                conn.close()
                return
            conn.data_ready = True
            self._submit(conn)

    def _submit(self, conn: Any) -> None:
        self.in_flight += 1
        super().enqueue_req(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        self.in_flight -= 1
        super().finish_request(conn, fs)

    def _drop(self, conn: Any, answer: bytes = b"") -> None:
        self.reading.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        if answer:
            try:
                conn.sock.send(answer)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EPIPE, errno.ECONNRESET):
                    self.log.debug("408 not sent: %s", exc)
        self.nr_conns -= 1
        conn.close()

    def set_accept_enabled(self, enabled: bool) -> None:
        # Accept only while a thread is free: then a connection waits in the kernel's
        # queue for whichever worker can answer it first.
        super().set_accept_enabled(enabled and self.in_flight < self.cfg.threads)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        self.set_accept_enabled(self.nr_conns < self.worker_connections)  # (no-op if same)
        super().wait_for_and_dispatch_events(min(timeout, 0.5))
        now = time.monotonic()
        for conn in [c for c, (deadline, _) in self.reading.items() if deadline <= now]:
            self._drop(conn, self.timeout_answer)
