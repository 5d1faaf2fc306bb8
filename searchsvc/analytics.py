"""Search analytics for editors: what readers search for, and what finds nothing.

Each search is a `SearchRecord` (the normalised query, the filters, sort, page, total,
time, took_ms; never who asked) kept in a SQLite file (WAL, so the web workers write and
the report reads at once). The request path only puts the record on a bounded queue
(`record` never blocks); a writer thread per process takes what is waiting, up to
`BATCH` at a time, and writes it in one transaction. A slow disk costs queue room, not
search time; when the queue is full, or the file cannot be written, records are dropped,
logged (once a minute at most) and counted (`on_drop`, which the web layer turns into a
metric). The thread stops after `IDLE_SECONDS` without records and starts again with the
next one, so a process that answers no searches holds no thread.

Records older than `retention_days` are deleted when the writer starts and once a day.
Storage only: this module knows nothing of HTTP.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from searchsvc.query import Filters, SearchRequest

log = logging.getLogger(__name__)

BATCH = 500
# The writer waits this long after a record before it writes what came meanwhile: one
# wake-up and one transaction for a burst, not one per search (each wake-up took the GIL
# from the request thread; a profile under load had the writer at 16% of a worker).
LINGER_SECONDS = 0.25
IDLE_SECONDS = 30.0
LOG_EVERY_SECONDS = 60.0
BUSY_TIMEOUT_MS = 5000  # another worker's transaction; bounded
SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,          -- Unix time of the search
    day TEXT NOT NULL,         -- its UTC day, YYYY-MM-DD
    source TEXT NOT NULL,      -- api or page
    query TEXT NOT NULL,       -- normalised: NFKC, case-folded, single spaces
    filters TEXT NOT NULL,     -- canonical JSON of the filters ({} when none)
    sort TEXT NOT NULL,
    page INTEGER NOT NULL,
    per_page INTEGER NOT NULL,
    total INTEGER NOT NULL,
    took_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS searches_day ON searches (day);
"""


@dataclass(frozen=True)
class SearchRecord:
    ts: float
    source: str
    query: str
    filters: str
    sort: str
    page: int
    per_page: int
    total: int
    took_ms: float

    @classmethod
    def of(
        cls, source: str, req: SearchRequest, total: int, took_ms: float, ts: float | None = None
    ) -> SearchRecord:
        return cls(
            ts=time.time() if ts is None else ts,
            source=source,
            query=normalise(req.q),
            filters=filters_key(req.filters),
            sort=req.sort,
            page=req.page,
            per_page=req.per_page,
            total=total,
            took_ms=round(took_ms, 2),
        )


def normalise(q: str) -> str:
    """One spelling per query: `  Mali  TROOPS` and `mali troops` are counted together."""
    return " ".join(unicodedata.normalize("NFKC", q).casefold().split())


def filters_key(filters: Filters) -> str:
    """The filters as canonical JSON (sorted values; dates as ISO strings); `{}` if none."""
    out: dict[str, Any] = {}
    named = {**filters.labels, "kinds": filters.kinds}  # labels by name: tags, story, ...
    for name, values in named.items():
        if values:
            out[name] = sorted(normalise(v) for v in values)
    for name in ("date_from", "date_to"):
        value = getattr(filters, name)
        if value is not None:
            out[name] = value.isoformat()
    return json.dumps(out, sort_keys=True, ensure_ascii=False)


class AnalyticsStore:
    """The analytics file of one process: a bounded queue and its writer thread."""

    def __init__(
        self,
        path: Path,
        retention_days: int = 90,
        queue_size: int = 10000,
        on_drop: Callable[[str, int], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self.on_drop = on_drop or (lambda _reason, _n: None)
        self._queue: queue.Queue[SearchRecord] = queue.Queue(maxsize=max(1, queue_size))
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_purge = 0.0
        self._last_log = 0.0
        self.written = 0
        self.dropped = 0

    # --- the request path ------------------------------------------------------------------

    def record(self, rec: SearchRecord) -> bool:
        """Queue a record for writing; never blocks. False when it was dropped."""
        try:
            self._queue.put_nowait(rec)
        except queue.Full:
            self._drop("queue_full", 1, "the analytics queue is full")
            return False
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="analytics-writer", daemon=True
                )
                self._thread.start()
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued record is written or dropped (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    # --- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                try:
                    first = self._queue.get(timeout=IDLE_SECONDS)
                except queue.Empty:
                    with self._lock:
                        if self._queue.empty():
                            self._thread = None
                            return
                    continue
                time.sleep(LINGER_SECONDS)
                batch = [first]
                while len(batch) < BATCH:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                conn = self._write(conn, batch)
                for _ in batch:
                    self._queue.task_done()
        finally:
            if conn is not None:
                conn.close()

    def _write(
        self, conn: sqlite3.Connection | None, batch: list[SearchRecord]
    ) -> sqlite3.Connection | None:
        try:
            if conn is None:
                conn = self._connect()
            with conn:
                conn.executemany(
                    "INSERT INTO searches (ts, day, source, query, filters, sort, page, "
                    "per_page, total, took_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            r.ts,
                            _day(r.ts),
                            r.source,
                            r.query,
                            r.filters,
                            r.sort,
                            r.page,
                            r.per_page,
                            r.total,
                            r.took_ms,
                        )
                        for r in batch
                    ],
                )
            self.written += len(batch)
            if time.time() - self._last_purge > 86400:
                self._purge(conn)
            return conn
        except (sqlite3.Error, OSError) as exc:
            self._drop("write_error", len(batch), f"cannot write {self.path}: {exc}")
            if conn is not None:
                conn.close()
            return None  # reconnect with the next batch: the disk may be back

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable up to a power cut
            conn.executescript(SCHEMA)
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _purge(self, conn: sqlite3.Connection) -> None:
        self._last_purge = time.time()
        cutoff = _day(time.time() - self.retention_days * 86400)
        with conn:
            conn.execute("DELETE FROM searches WHERE day < ?", (cutoff,))

    def _drop(self, reason: str, n: int, message: str) -> None:
        self.dropped += n
        try:
            self.on_drop(reason, n)
        finally:
            now = time.monotonic()
            if now - self._last_log > LOG_EVERY_SECONDS or self._last_log == 0.0:
                self._last_log = now
                log.warning("%s: %d search record(s) dropped (%s)", message, n, reason)

    # --- the report ------------------------------------------------------------------------

    def report(self, days: int, limit: int = 20, today: dt.date | None = None) -> dict[str, Any]:
        """What readers searched in the last `days` days (today included): top queries, top
        queries without results, queries whose results nobody paged past page 1, and the
        searches per day. Raises `sqlite3.Error`/`OSError` when the file cannot be read."""
        today = today or dt.datetime.now(dt.UTC).date()
        since = (today - dt.timedelta(days=days - 1)).isoformat()
        until = today.isoformat()
        if not self.path.exists():
            return _empty_report(since, until)
        conn = sqlite3.connect(
            f"file:{self.path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000
        )
        try:
            rows = conn.execute
            # The writer creates the file, then its table: a report asked in between (the
            # first search of all being written) has nothing to report yet.
            if not rows("SELECT 1 FROM sqlite_master WHERE name = 'searches'").fetchone():
                return _empty_report(since, until)
            where = "day BETWEEN ? AND ?"
            period = (since, until)
            top = rows(
                f"SELECT query, COUNT(*), MAX(total) FROM searches WHERE {where} AND query != '' "
                "GROUP BY query ORDER BY COUNT(*) DESC, query LIMIT ?",
                (*period, limit),
            ).fetchall()
            zero = rows(
                f"SELECT query, COUNT(*) FROM searches WHERE {where} AND query != '' "
                "AND total = 0 GROUP BY query ORDER BY COUNT(*) DESC, query LIMIT ?",
                (*period, limit),
            ).fetchall()
            # A query (with its filters and sort) that had a page 2 to go to, which no
            # search of the period asked for.
            first_page_only = rows(
                f"SELECT query, filters, COUNT(*), MAX(total) FROM searches WHERE {where} "
                "AND query != '' GROUP BY query, filters, sort "
                "HAVING MAX(page) = 1 AND MAX(total) > MIN(per_page) "
                "ORDER BY COUNT(*) DESC, query LIMIT ?",
                (*period, limit),
            ).fetchall()
            per_day = rows(
                f"SELECT day, COUNT(*), SUM(total = 0) FROM searches WHERE {where} "
                "GROUP BY day ORDER BY day",
                period,
            ).fetchall()
        finally:
            conn.close()
        counts = {day: (n, z) for day, n, z in per_day}
        return {
            "from": since,
            "to": until,
            "searches": sum(n for _d, n, _z in per_day),
            "top_queries": [{"query": q, "count": n, "total": t} for q, n, t in top],
            "zero_result_queries": [{"query": q, "count": n} for q, n in zero],
            "first_page_only": [
                {"query": q, "filters": json.loads(f), "count": n, "total": t}
                for q, f, n, t in first_page_only
            ],
            "per_day": [
                {
                    "day": d,
                    "searches": counts.get(d, (0, 0))[0],
                    "zero_results": counts.get(d, (0, 0))[1],
                }
                for d in _days(since, until)
            ],
        }


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).date().isoformat()


def _days(since: str, until: str) -> list[str]:
    start, end = dt.date.fromisoformat(since), dt.date.fromisoformat(until)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def _empty_report(since: str, until: str) -> dict[str, Any]:
    return {
        "from": since,
        "to": until,
        "searches": 0,
        "top_queries": [],
        "zero_result_queries": [],
        "first_page_only": [],
        "per_day": [{"day": d, "searches": 0, "zero_results": 0} for d in _days(since, until)],
    }
