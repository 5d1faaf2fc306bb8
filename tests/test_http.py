"""The HTTP API, over a real server process (gunicorn) and a real index of the sample."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
from conftest import SEED_EVENT_ID, SHOW_KEYS, Server


@pytest.fixture(scope="module")
def server(sample_server):
    return sample_server


def get(server, path, **params):
    return requests.get(server.url + path, params=params, timeout=30)


def assert_error(response, status, words=""):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    assert words.lower() in body["error"]["message"].lower()
    assert "Traceback" not in response.text and "/site-packages/" not in response.text


def test_douentza_finds_the_seed_first(server):
    r = get(server, "/search", q="Douentza")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == [
        "query",
        "total",
        "total_relation",
        "page",
        "per_page",
        "took_ms",
        "hits",
        "facets",
    ]
    assert body["hits"][0]["id"] == SEED_EVENT_ID
    hit = body["hits"][0]
    assert set(hit) == {
        "id",
        "kind",
        "title",
        "date",
        "story",
        "tags",
        "locations",
        "snippet",
        "score",
    }
    assert "<mark>Douentza</mark>" in hit["snippet"]
    assert hit["date"] == "2013-01-21" and hit["story"] == "Northern Mali conflict"


def test_chadian_soldiers_does_not_find_the_seed(server):
    ids = [h["id"] for h in get(server, "/search", q="Chadian soldiers").json()["hits"]]
    assert ids and SEED_EVENT_ID not in ids
    assert ids[0].startswith("news/2013/02/22/northern-mali-conflict-p13-chadian-soldiers")


def test_snippets_are_escaped(server):
    body = get(server, "/search", q="Islamists").json()
    for hit in body["hits"]:
        stripped = hit["snippet"].replace("<mark>", "").replace("</mark>", "")
        assert "<" not in stripped and ">" not in stripped


def test_filters_by_tag_and_month(server):
    body = get(
        server, "/search", q="Mali", tag="Mali", **{"from": "2013-01", "to": "2013-01"}
    ).json()
    assert body["total"] >= 2
    for hit in body["hits"]:
        assert "mali" in [t.lower() for t in hit["tags"]]
        assert hit["date"].startswith("2013-01")
    assert SEED_EVENT_ID in [h["id"] for h in body["hits"]]
    other = get(server, "/search", q="Mali", tag="Mali", **{"from": "2012", "to": "2012"}).json()
    assert SEED_EVENT_ID not in [h["id"] for h in other["hits"]]
    assert all(h["date"].startswith("2012") for h in other["hits"])


def test_repeated_filters_must_all_match(server):
    both = requests.get(server.url + "/search?tag=Mali&tag=France", timeout=30).json()
    assert both["total"] >= 1
    for hit in both["hits"]:
        tags = {t.lower() for t in hit["tags"]}
        assert {"mali", "france"} <= tags
    mali = requests.get(server.url + "/search?tag=Mali", timeout=30).json()
    assert mali["total"] > both["total"]


def test_browse_newest_first_and_facets_count_the_whole_result(server):
    body = get(server, "/search", per_page=3).json()
    assert body["total"] > 400 and len(body["hits"]) == 3
    dates = [h["date"] for h in body["hits"]]
    assert dates == sorted(dates, reverse=True)
    kinds = {f["value"]: f["count"] for f in body["facets"]["kind"]}
    assert sum(kinds.values()) == body["total"]
    years = {f["value"]: f["count"] for f in body["facets"]["year"]}
    assert years["2012"] > 3
    tags = {f["value"]: f["count"] for f in body["facets"]["tags"]}
    assert tags  # labels keep their spelling
    assert any(v[0].isupper() for v in tags)
    narrowed = get(server, "/search", tag=next(iter(tags))).json()
    assert narrowed["total"] == tags[next(iter(tags))]


def test_sort_and_pages(server):
    asc = get(server, "/search", q="Mali", sort="date", per_page=5).json()
    dates = [h["date"] for h in asc["hits"] if h["date"]]
    assert dates == sorted(dates)
    p1 = get(server, "/search", q="Mali", per_page=5, page=1).json()
    p2 = get(server, "/search", q="Mali", per_page=5, page=2).json()
    assert p1["total"] == p2["total"] > 10
    assert not {h["id"] for h in p1["hits"]} & {h["id"] for h in p2["hits"]}


def test_query_language(server):
    assert get(server, "/search", q='"French and Malian troops"').json()["total"] >= 1
    assert get(server, "/search", q="Douent*").json()["hits"][0]["id"] == SEED_EVENT_ID
    assert get(server, "/search", q="Duentza~").json()["hits"][0]["id"] == SEED_EVENT_ID
    assert get(server, "/search", q='story:"Northern Mali conflict"').json()["total"] == 2
    assert get(server, "/search", q="tags:douentza").json()["total"] >= 1
    assert get(server, "/search", q="Mali NOT France").json()["total"] >= 1
    r = get(server, "/search", q="date:2013-01")
    assert r.status_code == 200 and r.json()["total"] >= 2


def test_event_document(server):
    doc = get(server, f"/events/{SEED_EVENT_ID}").json()
    assert doc["id"] == SEED_EVENT_ID
    assert list(doc)[: len(SHOW_KEYS)] == SHOW_KEYS
    encoded = get(server, "/events/" + quote(SEED_EVENT_ID, safe="")).json()
    assert encoded["id"] == SEED_EVENT_ID


def test_related_lists_same_story_events_not_itself(server):
    r = get(server, f"/events/{SEED_EVENT_ID}/related", limit=5)
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert 0 < len(hits) <= 5
    ids = [h["id"] for h in hits]
    assert SEED_EVENT_ID not in ids
    # Events of the seed's story: the ones its Related list links, tagged with the story.
    same_story = [h for h in hits if "Northern Mali conflict" in h["tags"]]
    assert len(same_story) >= 2
    assert hits[0]["id"].startswith("news/2013/02/22/northern-mali-conflict")
    for h in hits:
        assert h["context"], h  # the tags it shares with the seed
        assert set(h["context"]) <= {
            "Northern Mali conflict",
            "Islamist",
            "Mali",
            "Diabaly",
            "France",
            "Douentza",
        }
    filtered = get(server, f"/events/{SEED_EVENT_ID}/related", **{"from": "2013"}).json()
    assert all(h["date"] >= "2013" for h in filtered["hits"])


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"q": "Mali", "per_page": "abc"}, "per_page"),
        ({"q": "Mali", "per_page": "1000"}, "per_page"),
        ({"q": "Mali", "page": "0"}, "page"),
        ({"from": "2013-02-30"}, "not a real date"),
        ({"to": "yesterday"}, "not a date"),
        ({"q": '"unbalanced quote'}, "unbalanced quote"),
        ({"q": "(Mali OR France"}, "parenthesis"),
        ({"q": "x" * 5000}, "too long"),
        ({"q": "AND OR NOT"}, "nothing to search"),
        ({"q": "*ali"}, "wildcard"),
        ({"sort": "random"}, "sort"),
        ({"kind": "video"}, "kind"),
    ],
)
def test_bad_requests_get_400_in_the_error_shape(server, params, words):
    assert_error(get(server, "/search", **params), 400, words)


def test_unknown_things(server):
    assert_error(get(server, "/events/news/nope.md"), 404, "no document")
    assert_error(get(server, "/events/news/nope.md/related"), 404, "no document")
    assert_error(get(server, "/events/../../etc/passwd"), 404)
    assert_error(get(server, "/nowhere"), 404)
    assert_error(requests.post(server.url + "/search", timeout=10), 405)
    assert_error(requests.post(server.url + "/search", data="x" * 200_000, timeout=10), 413)
    assert_error(get(server, f"/events/{SEED_EVENT_ID}/related", limit="0"), 400, "limit")


def test_overlong_request_line_is_414_in_the_error_shape(server):
    r = requests.get(server.url + "/search?q=" + "x" * 9000, timeout=10)
    assert_error(r, 414)
    # Written by gunicorn, not Flask: the same headers as every other answer.
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "xxxx" not in r.text  # the input is not echoed


def test_health_and_stats(server):
    health = get(server, "/health").json()
    assert health["status"] == "ok" and health["documents"] > 400
    stats = get(server, "/stats").json()
    assert stats["by_kind"]["event"] > 400 and stats["by_kind"]["source"] == 61
    assert stats["index_bytes"] > 100_000
    assert stats["last_run"]["report"]["added"] == stats["documents"]


def test_security_headers(server):
    r = get(server, "/search", q="Mali")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "Server" not in r.headers or "gunicorn" not in r.headers["Server"].lower()


def test_no_index_is_503(tmp_path):
    srv = Server(tmp_path / "missing-content", tmp_path / "empty-ix", "--no-schedule")
    try:
        srv.wait_ready()
        assert_error(get(srv, "/health"), 503, "index")
        assert_error(get(srv, "/search", q="Mali"), 503, "index")
    finally:
        srv.stop()


def test_suggest_completes_by_prefix(server):
    body = get(server, "/suggest", q="douent").json()
    assert body["query"] == "douent"
    texts = [s["text"] for s in body["suggestions"]]
    assert texts[0] == "Douentza"
    assert body["suggestions"][0]["kind"] in ("location", "tag", "word")
    many = get(server, "/suggest", q="mal", limit=5).json()["suggestions"]
    assert 0 < len(many) <= 5
    counts = [s["count"] for s in many]
    assert counts == sorted(counts, reverse=True)  # the most frequent first
    assert "Mali" in [s["text"] for s in many]
    assert "Northern Mali conflict" in [
        s["text"] for s in get(server, "/suggest", q="northern m").json()["suggestions"]
    ]
    opensearch = get(server, "/suggest", q="douent", format="opensearch")
    assert opensearch.headers["Content-Type"].startswith("application/x-suggestions+json")
    assert opensearch.json() == ["douent", ["Douentza"]]
    assert get(server, "/suggest", q="").json()["suggestions"] == []
    assert_error(get(server, "/suggest", q="x" * 200), 400, "too long")
    assert_error(get(server, "/suggest", q="dou", limit="99"), 400, "limit")


def test_did_you_mean(server):
    body = get(server, "/search", q="Duentza", spell="off").json()
    assert body["total"] == 0 and body["did_you_mean"] == "Douentza"
    assert get(server, "/search", q=body["did_you_mean"]).json()["total"] >= 1
    assert "did_you_mean" not in get(server, "/search", q="Douentza", spell="off").json()
    assert "did_you_mean" not in get(server, "/search", q="xqzzyvw").json()


def test_did_you_mean_completes_a_prefix_the_suggestions_complete(server):
    # "Douent" is one edit from "dozens" too; the box suggests "Douentza" for it.
    offered = [s["text"] for s in get(server, "/suggest", q="Douent").json()["suggestions"]]
    assert "Douentza" in offered
    body = get(server, "/search", q="Douent", spell="off").json()
    assert body["total"] == 0 and body["did_you_mean"] == "Douentza"
    # Each word on its own: a known word stays, a prefix is completed.
    both = get(server, "/search", q="Douent xqzzyvw", spell="off").json()
    assert both["did_you_mean"] == "Douentza xqzzyvw"
    # With corrections on (the default), the completion is searched at once.
    body = get(server, "/search", q="Douent").json()
    assert body["corrected_query"] == "Douentza" and body["total"] >= 1


def test_opensearch_description(server):
    import xml.etree.ElementTree as ET

    r = get(server, "/opensearch.xml")
    assert r.headers["Content-Type"].startswith("application/opensearchdescription+xml")
    root = ET.fromstring(r.content)
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    assert root.tag == "{http://a9.com/-/spec/opensearch/1.1/}OpenSearchDescription"
    urls = {u.get("type"): u.get("template") for u in root.findall("os:Url", ns)}
    assert urls["text/html"] == f"{server.url}/?q={{searchTerms}}"
    assert urls["application/x-suggestions+json"].startswith(f"{server.url}/suggest?")
    page = get(server, "/").text
    assert 'rel="search" type="application/opensearchdescription+xml"' in page


def test_search_page(server):
    r = get(server, "/", q="Douentza")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "<mark>Douentza</mark>" in r.text
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    bad = get(server, "/", q='"unbalanced')
    assert bad.status_code == 400 and "unbalanced quote" in bad.text
    assert get(server, "/doc/news/nope.md").status_code == 404
    evil = get(server, "/", q="<script>alert(1)</script>")
    assert "<script>alert(1)" not in evil.text
