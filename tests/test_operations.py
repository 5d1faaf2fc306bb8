"""Running it as a service, over a real server (gunicorn, two workers) and a real index:
HTTP caching and compression, liveness and readiness, Prometheus metrics, the access log
and request ids."""

from __future__ import annotations

import gzip
import json
import logging
import re
import shutil
from pathlib import Path

import pytest
import requests
from conftest import SEED_EVENT_ID, Server, config_for, eventually, sample_client, write

from searchsvc.index import run_index
from searchsvc.web import create_app
from searchsvc.web.metrics import multiprocess_dir

TOKEN = "ops-test-token"
METRICS_TOKEN = "metrics-test-token"


@pytest.fixture(scope="module")
def served(sample_index, tmp_path_factory):
    """A writable copy of the indexed sample, served by two workers with admin and
    metrics tokens (so that new generations can be made under it)."""
    base = tmp_path_factory.mktemp("ops")
    skip = shutil.ignore_patterns("searchsvc-analytics.sqlite*", "*.log")
    shutil.copytree(sample_index / "content", base / "content")
    shutil.copytree(sample_index / "ix", base / "ix", ignore=skip)
    server = Server(
        base / "content",
        base / "ix",
        "--no-schedule",
        "--workers",
        "2",
        env={"SEARCHSVC_ADMIN_TOKEN": TOKEN, "SEARCHSVC_METRICS_TOKEN": METRICS_TOKEN},
    ).wait_ready()
    server.base = base
    yield server
    server.stop()


def get(server, path, headers=None, **params):
    return requests.get(server.url + path, params=params, headers=headers or {}, timeout=30)


def scrape(server) -> str:
    r = get(server, "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    return r.text


def sample_value(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in a Prometheus exposition, or None."""
    for line in text.splitlines():
        m = re.fullmatch(r"([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)", line)
        if not m or m[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m[3] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m[4])
    return None


# --- HTTP caching and compression ---------------------------------------------------------


def test_a_search_is_cached_by_etag_and_revalidated_with_304(served):
    r = get(served, "/search", q="Douentza")
    assert r.status_code == 200
    etag = r.headers["ETag"]
    assert etag.startswith('W/"g') and r.headers["Cache-Control"] == "public, max-age=60"
    again = get(served, "/search", headers={"If-None-Match": etag}, q="Douentza")
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    other = get(served, "/search", headers={"If-None-Match": etag}, q="Diabaly")
    assert other.status_code == 200 and other.headers["ETag"] != etag
    for path in ("/", f"/doc/{SEED_EVENT_ID}", f"/events/{SEED_EVENT_ID}", "/suggest"):
        first = get(served, path, q="Mali")
        assert first.status_code == 200 and first.headers["Cache-Control"].startswith("public")
        tag = first.headers["ETag"]
        assert get(served, path, headers={"If-None-Match": tag}, q="Mali").status_code == 304


def test_errors_status_and_admin_answers_are_not_stored(served):
    for path, params in (
        ("/search", {"q": '"unbalanced'}),
        ("/events/nope.md", {}),
        ("/health", {}),
        ("/stats", {}),
        ("/livez", {}),
        ("/readyz", {}),
        ("/admin/analytics", {}),
    ):
        r = get(served, path, **params)
        assert r.headers["Cache-Control"] == "no-store", (path, r.status_code)
        assert "ETag" not in r.headers, path
    admin = get(served, "/admin/analytics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert admin.status_code == 200 and admin.headers["Cache-Control"] == "no-store"


def test_large_answers_are_gzipped_when_accepted(served):
    plain = get(served, "/search", headers={"Accept-Encoding": "identity"}, q="Mali")
    assert "Content-Encoding" not in plain.headers and len(plain.content) > 1024
    r = requests.get(
        served.url + "/search",
        params={"q": "Mali"},
        headers={"Accept-Encoding": "gzip"},
        stream=True,
        timeout=30,
    )
    raw = r.raw.read()
    assert r.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in r.headers["Vary"]
    assert len(raw) < len(plain.content) / 2
    body = json.loads(gzip.decompress(raw))
    assert body["hits"] == plain.json()["hits"]
    assert r.headers["ETag"] == plain.headers["ETag"]  # weak: the same answer, either way
    small = get(served, "/suggest", headers={"Accept-Encoding": "gzip"}, q="zzzz")
    assert len(small.content) < 1024 and "Content-Encoding" not in small.headers


def test_a_new_generation_changes_every_etag(served):
    urls = [("/search", {"q": "Douentza"}), ("/", {"q": "Mali"}), (f"/events/{SEED_EVENT_ID}", {})]
    before = {path: get(served, path, **params).headers["ETag"] for path, params in urls}
    write(
        served.base / "content",
        "news/2013/01/30/a-new-event-for-the-etag-test.md",
        "---\ndate: 2013-01-30\n---\n\n### [2013-01-30](/news/2013/01/30/index.md)\n\n"
        "# Etagtest: a new event in Douentza.\n\nA new event in Douentza.\n",
    )
    generation = get(served, "/health").json()["generation"]
    run_index(config_for(served.base / "content", served.base / "ix"), progress=False)

    def moved() -> bool:
        return all(get(served, "/health").json()["generation"] > generation for _ in range(4))

    eventually(moved, 30)
    for path, params in urls:
        # Each worker switches at its own next request: wait until several answers in a
        # row, from whichever worker, are of the new generation.
        def changed(path: str = path, params: dict = params) -> bool:
            answers = [
                get(served, path, headers={"If-None-Match": before[path]}, **params)
                for _ in range(6)
            ]
            return all(r.status_code == 200 and r.headers["ETag"] != before[path] for r in answers)

        eventually(changed, 30)


def test_max_age_comes_from_the_configuration(sample_index):
    client = sample_client(sample_index, **{"http.max_age": 0})
    r = client.get("/search?q=Mali")
    assert r.headers["Cache-Control"] == "public, max-age=0"
    assert (
        client.get("/search?q=Mali", headers={"If-None-Match": r.headers["ETag"]}).status_code
        == 304
    )


# --- liveness and readiness -----------------------------------------------------------------


def test_livez_and_readyz_of_a_served_fresh_index(served):
    assert get(served, "/livez").json() == {"status": "ok"}
    # A worker still on an older generation (the module makes new ones) is not ready
    # until it switches at its next request: wait for two ready answers in a row.
    eventually(lambda: all(get(served, "/readyz").status_code == 200 for _ in range(2)), 30)
    ready = get(served, "/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert (
        body["status"] == "ready"
        and body["generation"] == get(served, "/health").json()["generation"]
    )
    assert body["max_age_seconds"] == 3 * 300  # the default: 3 intervals of 5 minutes


def test_readyz_refuses_a_stale_index_and_livez_still_answers(sample_index):
    # One interval of 1 s: the sample's index, built before this test, becomes stale.
    client = sample_client(sample_index, **{"schedule.interval": "1s", "http.ready_intervals": 1})

    def stale() -> bool:
        return client.get("/readyz").status_code == 503

    eventually(stale, 10)
    body = client.get("/readyz").get_json()
    assert "schedule intervals" in body["error"]["message"]
    assert client.get("/livez").status_code == 200


def test_readyz_without_an_index(tmp_path):
    client = create_app(config_for(tmp_path / "content", tmp_path / "no-index")).test_client()
    r = client.get("/readyz")
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "unavailable"
    assert r.headers["Retry-After"]
    assert client.get("/livez").status_code == 200


# --- metrics --------------------------------------------------------------------------------


def test_metrics_add_up_every_worker(served):
    before = scrape(served)
    base = (
        sample_value(
            before,
            "searchsvc_http_requests_total",
            endpoint="search.search",
            method="GET",
            status="200",
        )
        or 0
    )
    n = 12
    for i in range(n):
        assert get(served, "/search", q=f"metricstest{i}").status_code == 200
    # Each scrape is answered by whichever worker is free; every one must see all 12.
    for _ in range(6):
        text = scrape(served)
        count = sample_value(
            text,
            "searchsvc_http_requests_total",
            endpoint="search.search",
            method="GET",
            status="200",
        )
        assert count == base + n
        assert (
            sample_value(
                text, "searchsvc_http_request_duration_seconds_count", endpoint="search.search"
            )
            >= n
        )
    stats = get(served, "/stats").json()
    assert sample_value(text, "searchsvc_documents", kind="event") == stats["by_kind"]["event"]
    assert sample_value(text, "searchsvc_documents", kind="source") == stats["by_kind"]["source"]
    assert sample_value(text, "searchsvc_index_generation") == stats["generation"]
    assert sample_value(text, "searchsvc_index_runs_total", outcome="ok") >= 1
    assert sample_value(text, "searchsvc_index_last_run_success") == 1
    assert sample_value(text, "searchsvc_index_generation_age_seconds") >= 0
    assert sample_value(text, "searchsvc_index_last_run_duration_seconds") >= 0
    assert sample_value(text, "searchsvc_searches_partial_total") == 0
    assert "# TYPE searchsvc_http_request_duration_seconds histogram" in text


def test_metrics_need_their_token(served):
    assert get(served, "/metrics").status_code == 401
    wrong = get(served, "/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "forbidden"


def test_metrics_can_be_off(sample_index):
    client = sample_client(sample_index, **{"metrics.enabled": False})
    r = client.get("/metrics")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_the_metrics_directory_is_emptied_at_start(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "counter_123.db").write_bytes(b"old counts")
    config = config_for(tmp_path, tmp_path / "ix", **{"metrics.dir": str(tmp_path / "m")})
    path, temporary = multiprocess_dir(config)
    assert path == tmp_path / "m" and not temporary and list(path.iterdir()) == []


# --- the access log and request ids -----------------------------------------------------------


def test_one_access_line_per_request_with_the_request_id(served):
    headers = {"X-Request-Id": "ops-rid-0001", "Accept-Encoding": "identity"}
    r = get(served, "/search", headers=headers, q="Douentza")
    assert r.headers["X-Request-Id"] == "ops-rid-0001"
    size = len(r.content)
    line = re.compile(
        rf"^\d{{4}}-\d\d-\d\dT[\d:.]+Z GET /search\?q=Douentza 200 {size} [\d.]+ ops-rid-0001$",
        re.MULTILINE,
    )
    eventually(lambda: bool(line.search(served.log.read_text())), 10)
    # A request id that is not a sane token is replaced, not echoed.
    odd = get(served, "/livez", headers={"X-Request-Id": "a b<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["X-Request-Id"])


def test_json_access_lines(sample_index, capsys):
    client = sample_client(sample_index, **{"log.access": "json"})
    r = client.get("/search?q=Mali", headers={"X-Request-Id": "json-rid-1"})
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if "json-rid-1" in x]
    assert len(lines) == 1
    entry = lines[0]
    assert set(entry) == {"time", "method", "path", "status", "bytes", "ms", "request_id"}
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/search?q=Mali", 200)
    assert entry["bytes"] == len(r.data) and entry["ms"] >= 0


def test_the_apps_own_log_lines_carry_the_request_id(sample_index, caplog):
    app = create_app(config_for(sample_index / "content", sample_index / "ix"))

    @app.get("/_log_something")
    def _log_something() -> str:
        logging.getLogger("searchsvc.test").warning("something worth a line")
        return "ok"

    with caplog.at_level(logging.WARNING, logger="searchsvc.test"):
        r = app.test_client().get("/_log_something", headers={"X-Request-Id": "app-rid-7"})
    assert r.headers["X-Request-Id"] == "app-rid-7"
    [record] = [rec for rec in caplog.records if rec.name == "searchsvc.test"]
    assert record.request_id == "app-rid-7" and record.request_tag == " [app-rid-7]"
    outside = logging.getLogger("searchsvc.test").makeRecord("x", 20, "f", 1, "m", (), None)
    assert outside.request_tag == ""


def test_the_example_alert_rules_name_real_metrics(served):
    import yaml

    rules_file = Path(__file__).resolve().parents[1] / "deploy" / "prometheus-alerts.yml"
    rules = yaml.safe_load(rules_file.read_text())["groups"][0]["rules"]
    names = {n for rule in rules for n in re.findall(r"searchsvc_\w+", rule["expr"])}
    assert "searchsvc_index_last_success_timestamp_seconds" in names
    exposed = {m[1] for m in re.finditer(r"^([a-z_:]+)[{ ]", scrape(served), re.MULTILINE)}
    assert names <= exposed, names - exposed


def test_config_toml_shows_the_defaults_of_the_new_settings():
    from searchsvc.config import AnalyticsConfig, HttpConfig, LogConfig, MetricsConfig, load_config

    config = load_config(Path(__file__).resolve().parents[1] / "config.toml", env={})
    assert config.http == HttpConfig() and config.metrics == MetricsConfig()
    assert config.log == LogConfig() and config.analytics == AnalyticsConfig()


def test_the_servers_own_log_lines_name_the_request(sample_index, tmp_path):
    """Under gunicorn, a line the app logs while answering carries the request's id: here
    the search layer's error about a damaged index, logged at each request it refuses."""
    shutil.copytree(sample_index / "content", tmp_path / "content")
    shutil.copytree(sample_index / "ix", tmp_path / "ix")
    segment = max((tmp_path / "ix").glob("*.seg"), key=lambda p: p.stat().st_size)
    with open(segment, "r+b") as f:  # damage in the middle: the file still opens
        f.seek(segment.stat().st_size // 3)
        f.write(b"\x00" * 4096)
    server = Server(tmp_path / "content", tmp_path / "ix", "--no-schedule").wait_ready()
    try:
        r = get(server, "/search", headers={"X-Request-Id": "damaged-rid-42"}, q="Mali")
        assert r.status_code == 503 and r.headers["X-Request-Id"] == "damaged-rid-42"
        line = re.compile(
            r"ERROR searchsvc\.index\.live \[damaged-rid-42\]: the index at .* is damaged"
        )
        eventually(lambda: bool(line.search(server.log.read_text())), 10)
    finally:
        server.stop()


def test_an_unknown_access_log_format_is_a_configuration_error(cli):
    proc = cli("serve", "--no-schedule", env={"SEARCHSVC_LOG_ACCESS": "xml"})
    assert proc.returncode == 2 and "log.access" in proc.stderr
