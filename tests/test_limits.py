"""Expensive queries are refused with a 400 or cut short by the configured time limit."""

from __future__ import annotations

import pytest
from conftest import sample_client


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
def test_refused(sample_index, q, words):
    r = sample_client(sample_index).get("/search", query_string={"q": q})
    assert r.status_code == 400, r.get_data(as_text=True)
    assert words in r.get_json()["error"]["message"]


def test_broad_prefix_refused(sample_index):
    c = sample_client(sample_index, **{"search.max_expansions": 5})
    r = c.get("/search", query_string={"q": "ma*"})
    assert r.status_code == 400 and "too many words" in r.get_json()["error"]["message"]
    assert c.get("/search", query_string={"q": "Douent*"}).status_code == 200


def test_deep_pages_refused(sample_index):
    r = sample_client(sample_index).get("/search", query_string={"q": "Mali", "page": "100000"})
    assert r.status_code == 400 and r.get_json()["error"]["param"] == "page"


def test_time_limit_answers_with_what_was_found(sample_index):
    # A prefix is scored by Whoosh's matchers, which the time limit cuts (a query of
    # terms only is scored in arrays, a bounded few milliseconds).
    query = {"q": "the OR mali OR news OR peop*"}
    whole = sample_client(sample_index).get("/search", query_string=query).get_json()
    c = sample_client(sample_index, **{"search.time_limit": 0.0})
    body = c.get("/search", query_string=query).get_json()
    assert body["partial"] is True and "partial" not in whole
    # The ranking is cut at the first match: that one is answered, the rest is not...
    assert len(body["hits"]) == 1 and len(whole["hits"]) == 10
    # ... while the counts, made apart from the ranking, stay exact.
    assert body["total"] == whole["total"] and body["facets"] == whole["facets"]
    assert body["total_relation"] == whole["total_relation"] == "eq"
