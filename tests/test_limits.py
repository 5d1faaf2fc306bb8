"""Expensive queries are refused with a 400 or cut short by the configured time limit."""

from __future__ import annotations

import shutil

import pytest
from conftest import config_for

from searchsvc.config import SAMPLE_CONTENT
from searchsvc.index import run_index
from searchsvc.web import create_app


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("limits")
    shutil.copytree(SAMPLE_CONTENT, base / "content")
    run_index(config_for(base / "content", base / "ix"), progress=False)
    return base


def client(built, **flags):
    return create_app(config_for(built / "content", built / "ix", **flags)).test_client()


@pytest.mark.parametrize(
    ("q", "words"),
    [
        ("*ali", "wildcard"),
        ("*a*", "wildcard"),
        ("?a", "wildcard"),
        ("ab~", "fuzzy"),
        ("douentza~5", "fuzzy distance"),
        ("title:*", "matches everything"),
        (" OR ".join(f"w{i}" for i in range(100)), "too many terms"),
    ],
)
def test_refused(built, q, words):
    r = client(built).get("/search", query_string={"q": q})
    assert r.status_code == 400, r.get_data(as_text=True)
    assert words in r.get_json()["error"]["message"]


def test_broad_prefix_refused(built):
    c = client(built, **{"search.max_expansions": 5})
    r = c.get("/search", query_string={"q": "ma*"})
    assert r.status_code == 400 and "too many words" in r.get_json()["error"]["message"]
    assert c.get("/search", query_string={"q": "Douent*"}).status_code == 200


def test_deep_pages_refused(built):
    r = client(built).get("/search", query_string={"q": "Mali", "page": "100000"})
    assert r.status_code == 400 and r.get_json()["error"]["param"] == "page"


def test_time_limit_answers_with_what_was_found(built):
    c = client(built, **{"search.time_limit": 0.0})
    body = c.get("/search", query_string={"q": "the OR mali OR news OR people"}).get_json()
    assert body["partial"] is True
    assert body["total"] >= 0 and isinstance(body["hits"], list)
