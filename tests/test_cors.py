"""CORS for the JSON API: off by default, on for the origins config.toml allows."""

from __future__ import annotations

import shutil

import pytest
from conftest import config_for

from searchsvc.config import SAMPLE_CONTENT
from searchsvc.index import run_index
from searchsvc.web import create_app


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("cors")
    shutil.copytree(SAMPLE_CONTENT, base / "content")
    run_index(config_for(base / "content", base / "ix"), progress=False)
    return base


def client(built, **flags):
    return create_app(config_for(built / "content", built / "ix", **flags)).test_client()


def test_off_by_default(built):
    r = client(built).get("/search?q=Mali", headers={"Origin": "https://news.example"})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers


def test_allowed_origins_only(built):
    c = client(built, **{"cors.origins": ("https://news.example",)})
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
