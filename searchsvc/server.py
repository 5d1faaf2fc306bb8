"""`searchsvc serve`: the Flask app under gunicorn, with the scheduler process beside it.

Gunicorn (not the Flask development server) runs `workers` processes of `threads` threads
each: `searchsvc.worker.HeadFirstWorker`, gunicorn's gthread worker reading each request
head in its selector (a slow client costs a socket, not a worker; `timeout` bounds it) and
taking a connection only while a thread is free, so the kernel's accept queue shares the
requests fairly (see config.toml). Gunicorn's own answers to malformed requests (an
over-long request line, bad headers) are rewritten into the API's JSON error shape.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from typing import Any

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.http import wsgi as gunicorn_wsgi

from searchsvc.config import Config
from searchsvc.content import ContentError
from searchsvc.index import IndexBusy, IndexWriteError, index_exists, index_problem, run_index
from searchsvc.index.follow import follow_once
from searchsvc.web import SECURITY_HEADERS, create_app, metrics
from searchsvc.web.errors import CODES

log = logging.getLogger(__name__)


def _json_write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Gunicorn's error page, in the API's error shape (and without echoing the input)."""
    body = json.dumps(
        {"error": {"code": CODES.get(status_int, "error"), "message": reason.lower()}}
    ).encode()
    headers = "".join(f"{name}: {value}\r\n" for name, value in SECURITY_HEADERS.items())
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Cache-Control: no-store\r\n{headers}\r\n"
    ).encode()
    gunicorn_util.write_nonblock(sock, head + body)


def _warm(worker: Any) -> None:
    """In each new worker, build the search caches in the background: the first requests
    are then as fast as the others."""
    index = worker.wsgi.extensions["searchsvc.index"]
    threading.Thread(target=index.warm, name="warm-up", daemon=True).start()


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, config: Config) -> None:
        self.searchsvc_config = config
        super().__init__()

    def load_config(self) -> None:
        s = self.searchsvc_config.server
        options = {
            "bind": f"{s.host}:{s.port}",
            "workers": s.workers,
            "threads": s.threads,
            "worker_class": "searchsvc.worker.HeadFirstWorker",
            "keepalive": 0,  # each request through the accept queue (searchsvc/worker.py)
            "timeout": s.timeout,
            "graceful_timeout": 10,
            "limit_request_line": min(8190, s.max_url_bytes),
            "limit_request_fields": 50,
            "limit_request_field_size": 8190,
            "errorlog": "-",
            "loglevel": "info",
            "proc_name": "searchsvc",
            "control_socket_disable": True,
        }
        # Gunicorn's worker heartbeat touches a file on every request; on a disk it blocked
        # every worker for up to a second while an index run's commit was flushed to that
        # disk (bench/load_bench.py). In memory it cannot.
        if os.access("/dev/shm", os.W_OK):
            options["worker_tmp_dir"] = "/dev/shm"
        for key, value in options.items():
            self.cfg.set(key, value)
        self.cfg.set("post_worker_init", _warm)
        self.cfg.set("child_exit", metrics.worker_exited)

    def load(self) -> Any:
        return create_app(self.searchsvc_config)


def ensure_index(config: Config) -> None:
    """Build the index before serving when there is none, so the first start has answers."""
    if index_exists(config.index.dir):
        problem = index_problem(config.index.dir)
        if problem:
            log.error(
                "the index at %s is damaged (%s): serving 503 until it is rebuilt with "
                "`searchsvc index --full`",
                config.index.dir,
                problem,
            )
        return
    log.info("no index in %s yet: indexing %s first", config.index.dir, config.content.root)
    try:
        report = run_index(config, progress=False)
        for line in report.lines()[:20]:
            log.info("%s", line)
    except (IndexBusy, IndexWriteError, ContentError) as exc:
        log.error("cannot build the index: %s; serving without one (503) for now", exc)


def _beside(config: Config, *args: str) -> subprocess.Popen[bytes]:
    """A process of ours beside the web workers (the scheduler, or the follower)."""
    cmd = [sys.executable, "-m", "searchsvc"]
    if config.file:
        cmd += ["--config", str(config.file)]
    return subprocess.Popen([*cmd, *args, "--index", str(config.index.dir)])


def serve(config: Config, schedule: bool = True) -> int:
    scheduler = None
    if config.follow.source:
        # A query host: its index is a copy of the indexing host's (docs/scaling.md).
        if not index_exists(config.index.dir):
            f = config.follow
            follow_once(f.source, config.index.dir, f.timeout)
        scheduler = _beside(config, "follow", config.follow.source)
    else:
        ensure_index(config)
        # One process for the schedule and the file watcher, whatever the number of workers.
        if schedule and (config.schedule.enabled or config.watch.enabled):
            scheduler = _beside(config, "schedule", "--content", str(config.content.root))
    gunicorn_util.write_error = _json_write_error
    gunicorn_wsgi.SERVER = "searchsvc"  # the Server header: no server software or version
    # Every worker counts into this directory; a scrape of any worker adds them up.
    metrics_dir, temporary = metrics.multiprocess_dir(config)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    try:
        _Gunicorn(config).run()
    finally:
        if temporary:
            metrics.remove_dir(metrics_dir)
        if scheduler is not None:
            scheduler.terminate()
            try:
                scheduler.wait(timeout=10)
            except subprocess.TimeoutExpired:
                scheduler.kill()
    return 0
