"""Search analytics: every search recorded in a real SQLite file beside the index, off the
request path; the editors' report over a real server; an unwritable file costs records,
never the service."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import sqlite3
import time

import pytest
import requests
from conftest import Server, eventually
from test_operations import sample_value

from searchsvc.analytics import AnalyticsStore, SearchRecord, normalise
from searchsvc.query import Filters, SearchRequest
from searchsvc.web.ui import PAGE_CSP

TOKEN = "analytics-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def serve_copy(sample_index, base, env=None):
    skip = shutil.ignore_patterns("searchsvc-analytics.sqlite*", "*.log")
    shutil.copytree(sample_index / "content", base / "content")
    shutil.copytree(sample_index / "ix", base / "ix", ignore=skip)
    return Server(
        base / "content",
        base / "ix",
        "--no-schedule",
        env={"SEARCHSVC_ADMIN_TOKEN": TOKEN, **(env or {})},
    ).wait_ready()


@pytest.fixture(scope="module")
def served(sample_index, tmp_path_factory):
    server = serve_copy(sample_index, tmp_path_factory.mktemp("analytics"))
    yield server
    server.stop()


def get(server, path, headers=None, **params):
    return requests.get(server.url + path, params=params, headers=headers or {}, timeout=30)


def report(server, **params):
    r = get(server, "/admin/analytics", headers=AUTH, **params)
    assert r.status_code == 200, r.text
    return r.json()


def test_searches_are_recorded_and_reported(served):
    searches = [
        ({"q": "Mali"}, 3),
        ({"q": "  MALI "}, 1),  # the same query, normalised
        ({"q": "Mali", "page": "2"}, 1),
        ({"q": "Douentza", "tag": "Mali"}, 2),
        ({"q": "zzqqxx"}, 2),  # finds nothing
        ({"q": "Nowherezzz"}, 1),
    ]
    for params, times in searches:
        for _ in range(times):
            assert get(served, "/search", **params).status_code == 200
    assert get(served, "/", q="Diabaly").status_code == 200  # the search page counts too
    assert get(served, "/search", q='"unbalanced').status_code == 400  # not an answer: not counted

    eventually(lambda: report(served)["searches"] == 11, 15)
    body = report(served, days=7, limit=5)
    top = {row["query"]: row["count"] for row in body["top_queries"]}
    assert top["mali"] == 5 and top["douentza"] == 2 and top["diabaly"] == 1
    assert body["zero_result_queries"][0] == {"query": "zzqqxx", "count": 2}
    assert {"query": "nowherezzz", "count": 1} in body["zero_result_queries"]
    # "mali" had a page 2 asked for; "douentza" with its tag never did.
    first_page = {
        (row["query"], tuple(row["filters"].get("tags", []))) for row in body["first_page_only"]
    }
    assert ("mali", ()) not in first_page
    assert len(body["per_day"]) == 7 and body["per_day"][-1]["day"] == body["to"]
    assert body["per_day"][-1]["searches"] == 11 and body["per_day"][-1]["zero_results"] == 3


def test_the_file_is_sqlite_in_wal_mode_beside_the_index_without_addresses(served):
    get(served, "/search", q="Walcheck")
    path = served.log.parent / "ix" / "searchsvc-analytics.sqlite"
    eventually(path.exists, 15)
    conn = sqlite3.connect(path)
    try:
        eventually(
            lambda: (
                conn.execute("SELECT COUNT(*) FROM searches WHERE query = 'walcheck'").fetchone()[0]
                == 1
            ),
            15,
        )
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = [row[1] for row in conn.execute("PRAGMA table_info(searches)")]
    finally:
        conn.close()
    assert columns == [
        "id",
        "ts",
        "day",
        "source",
        "query",
        "filters",
        "sort",
        "page",
        "per_page",
        "total",
        "took_ms",
    ]  # no client address, no user agent


def test_stats_count_the_analytics_apart_from_the_index(served):
    ix = served.log.parent / "ix"
    analytics = ix / "searchsvc-analytics.sqlite"
    get(served, "/search", q="Sizecheck")
    eventually(analytics.exists, 15)

    def sizes() -> tuple[int, int, int, int]:
        """/stats' two sizes, and the files' (index: all but SQLite's three)."""
        stats = get(served, "/stats").json()
        files = [p for p in ix.rglob("*") if p.is_file()]
        apart = [p for p in files if p.name.startswith(analytics.name)]
        index = sum(p.stat().st_size for p in files if p not in apart)
        return (
            stats["index_bytes"],
            stats["analytics_bytes"],
            index,
            sum(p.stat().st_size for p in apart),
        )

    # Checked when no write happened between the listing and /stats: equal twice running.
    eventually(lambda: (s := sizes()) == sizes() and s[0] == s[2] and s[1] == s[3], 15)
    before, grown = sizes(), None
    for n in range(300):  # until the analytics file grows: the index stays as it was
        get(served, "/search", q=f"sizecheck{n}")
        if n % 50 == 49 and (now := sizes())[1] > before[1]:
            grown = now
            break
    assert grown is not None and grown[0] == before[0] and grown[1] > 0


def test_the_editors_page(served):
    get(served, "/search", q="Pagecheck")
    eventually(lambda: any(r["query"] == "pagecheck" for r in report(served)["top_queries"]), 15)
    basic = base64.b64encode(f"editor:{TOKEN}".encode()).decode()
    r = get(served, "/admin/", headers={"Authorization": f"Basic {basic}"}, days="3")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Content-Security-Policy"] == PAGE_CSP
    assert r.headers["Cache-Control"] == "no-store"
    html = r.text
    assert "<table>" in html and ">pagecheck</a>" in html
    assert html.count("<rect ") == 3  # one bar per day of the period
    assert "<script" not in html and "style=" not in html and "<style" not in html


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 403),
        ({"Authorization": "Basic " + base64.b64encode(b"x:wrong").decode()}, 403),
        ({"Authorization": "Basic !!notbase64"}, 401),
        ({"Authorization": "Token " + TOKEN}, 401),
    ],
)
def test_the_report_needs_the_admin_token(served, headers, status):
    for path in ("/admin/analytics", "/admin/"):
        r = get(served, path, headers=headers)
        assert r.status_code == status, (path, r.text)
        assert set(r.json()) == {"error"}


@pytest.mark.parametrize("value", ["0", "367", "-1", "x", "٣", "1.5"])
def test_a_bad_period_is_a_400_naming_it(served, value):
    for name in ("days", "limit"):
        r = get(served, "/admin/analytics", headers=AUTH, **{name: value})
        assert r.status_code == 400 and r.json()["error"]["param"] == name


def test_without_an_admin_token_the_report_is_off(sample_server):
    assert get(sample_server, "/admin/analytics").status_code == 404
    assert get(sample_server, "/admin/").status_code == 404


def test_an_unwritable_file_costs_records_not_the_service(sample_index, tmp_path):
    # A path under a regular file: no process can create it, root included.
    (tmp_path / "not-a-dir").write_text("x")
    server = serve_copy(
        sample_index,
        tmp_path / "srv",
        env={"SEARCHSVC_ANALYTICS_FILE": str(tmp_path / "not-a-dir" / "analytics.sqlite")},
    )
    try:
        for i in range(5):
            r = get(server, "/search", q=f"Mali {i}")
            assert r.status_code == 200 and r.json()["total"] > 0

        def dropped() -> float:
            text = get(server, "/metrics").text
            return (
                sample_value(text, "searchsvc_analytics_dropped_total", reason="write_error") or 0
            )

        eventually(lambda: dropped() >= 5, 15)
        assert "cannot write" in server.log.read_text()
        assert get(server, "/readyz").status_code == 200
        assert report(server)["searches"] == 0
    finally:
        server.stop()


# --- the store itself, on a real file ----------------------------------------------------------


def test_a_full_queue_drops_and_counts_without_blocking(tmp_path, monkeypatch):
    import searchsvc.analytics as analytics

    monkeypatch.setattr(analytics, "BUSY_TIMEOUT_MS", 120_000)  # the writer waits, not fails
    path = tmp_path / "a.sqlite"
    drops: list[tuple[str, int]] = []
    store = AnalyticsStore(path, queue_size=1, on_drop=lambda reason, n: drops.append((reason, n)))
    req = SearchRequest(q="Mali")
    assert store.record(SearchRecord.of("api", req, 3, 1.0))
    assert store.flush(10)  # the file and its table exist now
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the file (a slow disk)
    try:
        assert store.record(SearchRecord.of("api", req, 3, 1.0))  # taken by the writer, who waits
        eventually(lambda: store._queue.qsize() == 0, 5)
        assert store.record(SearchRecord.of("api", req, 3, 1.0))  # waits in the queue
        t0 = time.monotonic()
        assert not store.record(SearchRecord.of("api", req, 3, 1.0))  # full: dropped at once
        assert time.monotonic() - t0 < 1.0
        assert drops == [("queue_full", 1)]
    finally:
        blocker.rollback()
        blocker.close()
    assert store.flush(10)
    assert store.written == 3 and store.dropped == 1


def test_a_busy_file_is_given_up_after_its_timeout(tmp_path, monkeypatch):
    import searchsvc.analytics as analytics

    monkeypatch.setattr(analytics, "BUSY_TIMEOUT_MS", 200)  # the bound, shortened
    path = tmp_path / "a.sqlite"
    drops: list[tuple[str, int]] = []
    store = AnalyticsStore(path, on_drop=lambda reason, n: drops.append((reason, n)))
    store.record(SearchRecord.of("api", SearchRequest(q="x"), 0, 1.0))
    assert store.flush(10)
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        store.record(SearchRecord.of("api", SearchRequest(q="y"), 0, 1.0))
        assert store.flush(10)
        assert drops == [("write_error", 1)]
    finally:
        blocker.rollback()
        blocker.close()
    store.record(SearchRecord.of("api", SearchRequest(q="z"), 0, 1.0))  # the file is back
    assert store.flush(10) and store.written == 2


def test_a_report_before_the_first_record_is_written_is_empty(tmp_path):
    """The writer creates the file, then its table; a report asked in between (another
    web worker's) reports nothing yet, as without a file, and not a 503."""
    path = tmp_path / "a.sqlite"
    sqlite3.connect(path).close()  # the file, no table yet
    body = AnalyticsStore(path).report(days=7)
    assert body["searches"] == 0 and body["top_queries"] == [] and len(body["per_day"]) == 7


def test_old_records_are_deleted_after_the_retention(tmp_path):
    now = time.time()
    first = AnalyticsStore(tmp_path / "a.sqlite", retention_days=2)
    for age_days, q in ((5, "old"), (3, "older than two days"), (1, "yesterday")):
        first.record(SearchRecord.of("api", SearchRequest(q=q), 1, 1.0, ts=now - age_days * 86400))
    assert first.flush(10)
    # The next process's writer deletes what is past the retention when it starts.
    store = AnalyticsStore(tmp_path / "a.sqlite", retention_days=2)
    store.record(SearchRecord.of("api", SearchRequest(q="today"), 1, 1.0, ts=now))
    assert store.flush(10)
    body = store.report(days=30)
    assert {row["query"] for row in body["top_queries"]} == {"yesterday", "today"}


def test_the_report_of_a_period(tmp_path):
    store = AnalyticsStore(tmp_path / "a.sqlite")
    today = dt.datetime.now(dt.UTC).date()
    now = time.time()
    filters = Filters(labels={"tags": ("Mali",)})
    rows = [
        (SearchRequest(q="Mali"), 40, 0),
        (SearchRequest(q="Mali", page=2), 40, 0),
        (SearchRequest(q="Gao", filters=filters), 25, 0),
        (SearchRequest(q="Gao", filters=filters), 25, 0),
        (SearchRequest(q="Kidal"), 5, 0),  # one page only: nothing to page to
        (SearchRequest(q="Xyzzy"), 0, 2),  # two days ago
    ]
    for req, total, age in rows:
        store.record(SearchRecord.of("api", req, total, 2.0, ts=now - age * 86400))
    assert store.flush(10)
    body = store.report(days=2, today=today)
    assert body["searches"] == 5
    assert body["first_page_only"] == [
        {"query": "gao", "filters": {"tags": ["mali"]}, "count": 2, "total": 25}
    ]
    assert body["zero_result_queries"] == []
    assert store.report(days=3, today=today)["zero_result_queries"] == [
        {"query": "xyzzy", "count": 1}
    ]
    assert normalise("  Tōhoku\u00a0 ＭＡＬＩ ") == "tōhoku mali"


def test_a_damaged_file_is_a_503_for_the_report_and_costs_no_search(sample_index, tmp_path):
    from conftest import sample_client

    damaged = tmp_path / "analytics.sqlite"
    damaged.write_bytes(b"not a database" * 1000)
    client = sample_client(sample_index, **{"admin.token": TOKEN, "analytics.file": str(damaged)})
    assert client.get("/search?q=Mali").status_code == 200
    store = client.application.extensions["searchsvc.analytics"]
    assert store.flush(10) and store.dropped == 1
    r = client.get("/admin/analytics", headers=AUTH)
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "unavailable"
    assert "analytics file" in r.get_json()["error"]["message"]
