"""CORS for the JSON API: off by default, on for the origins config.toml allows."""

from __future__ import annotations

from conftest import sample_client


def test_off_by_default(sample_index):
    r = sample_client(sample_index).get(
        "/search?q=Mali", headers={"Origin": "https://news.example"}
    )
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers


def test_allowed_origins_only(sample_index):
    c = sample_client(sample_index, **{"cors.origins": ("https://news.example",)})
    ok = c.get("/search?q=Mali", headers={"Origin": "https://news.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://news.example"
    other = c.get("/search?q=Mali", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    page = c.get("/", headers={"Origin": "https://news.example"})
    assert "Access-Control-Allow-Origin" not in page.headers  # pages stay same-origin
    preflight = c.options(
        "/suggest?q=dou",
        headers={"Origin": "https://news.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://news.example"
