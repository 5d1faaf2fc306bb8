"""Answers cached per index generation (searchsvc/index/answers.py): the same request is
answered once per generation, a request differing only in form is the same request, the
cache stays within its bound, and no answer outlives its generation."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import requests
from conftest import SAMPLE_CONTENT, Server, config_for, eventually, sample_client, write

from searchsvc.index import run_index


def cache_stats(client) -> dict:
    return client.get("/stats").get_json()["cache"]


def warm_client(sample_index, **flags):
    """A client whose worker has built its vocabulary: the vocabulary's generation is part
    of a search's key, so its first build, in the background, would make a miss."""
    client = sample_client(sample_index, **flags)
    client.get("/search?q=warm")
    index = client.application.extensions["searchsvc.index"]
    eventually(lambda: index.vocabulary.generation >= 0, timeout=30)
    return client


def test_the_same_request_in_another_form_is_answered_from_the_cache(sample_index):
    client = warm_client(sample_index)
    browse = client.get("/search?per_page=100").get_json()["hits"]
    hit = next(h for h in browse if len(h["tags"]) >= 2)
    word = next(w for w in hit["title"].split() if w.isalpha() and len(w) > 4)
    one, two = hit["tags"][:2]
    first = client.get("/search", query_string={"q": word, "tag": [one, two]})
    assert first.status_code == 200 and first.get_json()["total"] > 0
    before = cache_stats(client)
    # Other parameter order, filter values in another order and case, white space, the
    # defaults sent: the same request.
    again = client.get(
        "/search",
        query_string=[
            ("tag", two.upper()),
            ("per_page", "10"),
            ("q", f"  {word} "),
            ("page", "1"),
            ("tag", one.lower()),
            ("sort", "relevance"),
        ],
    )
    after = cache_stats(client)
    assert (after["hits"], after["misses"]) == (before["hits"] + 1, before["misses"])
    body, cached = first.get_json(), again.get_json()
    assert cached["query"] == word  # echoed as this request sent it (stripped)
    assert dict(cached, took_ms=0) == dict(body, took_ms=0)
    generation = first.headers["X-Index-Generation"]
    assert again.headers["X-Index-Generation"] == generation
    # Another page, or an operator where there was a word, is another request.
    client.get("/search", query_string={"q": word, "tag": [one, two], "page": "2"})
    client.get("/search", query_string={"q": f"{word} OR army"})
    client.get("/search", query_string={"q": f"{word} or army"})
    assert cache_stats(client)["misses"] == after["misses"] + 3


def test_suggest_and_related_are_cached_too(sample_index):
    client = warm_client(sample_index)
    doc_id = client.get("/search?q=soldiers").get_json()["hits"][0]["id"]
    before = cache_stats(client)
    for _ in range(2):
        suggest = client.get("/suggest?q=ea")
        related = client.get(f"/events/{doc_id}/related?limit=5")
        missing = client.get("/events/no/such.md/related")
    assert suggest.status_code == related.status_code == 200
    assert missing.status_code == 404
    assert "X-Index-Generation" in suggest.headers and "X-Index-Generation" in related.headers
    stats = cache_stats(client)
    assert (stats["hits"], stats["misses"]) == (before["hits"] + 3, before["misses"] + 3)


def test_the_cache_keeps_at_most_its_entries_and_can_be_off(sample_index):
    client = sample_client(sample_index, **{"search.cache_entries": 3})
    for word in ("soldiers", "police", "election", "court", "army"):
        client.get(f"/search?q={word}")
    assert cache_stats(client)["size"] == 3
    client.get("/search?q=soldiers")  # dropped: the least recently used
    assert cache_stats(client)["hits"] == 0

    off = sample_client(sample_index, **{"search.cache_entries": 0})
    answers = [off.get("/search?q=soldiers").get_json() for _ in range(2)]
    assert dict(answers[0], took_ms=0) == dict(answers[1], took_ms=0)
    assert cache_stats(off) | {"generation": 0} == {
        "hits": 0,
        "misses": 0,
        "size": 0,
        "max_entries": 0,
        "generation": 0,
    }


# Requests that differ in one parameter only, each of which changes the answer: asked one
# after the other of a cached client, each must be answered as an uncached one answers it.
VARIANTS = [
    {"near": "Bamako", "km": "100"},
    {"near": "Paris", "km": "100"},
    {"near": "Bamako", "km": "1000"},
    {"bbox": "-10,10,5,20"},
    {"bbox": "0,40,10,50"},
    {"from": "2010-01-01"},
    {"to": "2010-01-01"},
    {"kind": "source"},
    {"kind": "event"},
    {"collapse": "story"},
    {"histogram": "year"},
    {"histogram": "month"},
    {"sort": "date"},
    {"recency": "30"},
    {"per_page": "5"},
]


def test_every_parameter_is_part_of_the_key(sample_index):
    cached = sample_client(sample_index)
    fresh = sample_client(sample_index, **{"search.cache_entries": 0})
    for variant in VARIANTS:
        params = {"q": "soldiers", **variant}
        got = cached.get("/search", query_string=params)
        want = fresh.get("/search", query_string=params)
        assert got.status_code == want.status_code == 200, variant
        assert dict(got.get_json(), took_ms=0) == dict(want.get_json(), took_ms=0), variant
    assert cache_stats(cached)["hits"] == 0


def test_an_edited_synonyms_file_is_not_answered_from_the_cache(sample_index, tmp_path):
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("# none yet\n", encoding="utf-8")
    client = sample_client(sample_index, **{"search.synonyms": str(synonyms)})
    before = client.get("/search?q=zzunknownword").get_json()
    assert before["total"] == 0
    synonyms.write_text("zzunknownword -> soldiers\n", encoding="utf-8")
    after = client.get("/search?q=zzunknownword").get_json()
    assert after["total"] == client.get("/search?q=soldiers").get_json()["total"] > 0


SENTINEL = """---
title: "Sentinel {n}"
date: 2020-01-{day:02d}
tags: [Sentinel]
---
# Sentinel {n}

The zzsentinel report number {n}.
"""


@pytest.mark.slow
def test_no_answer_outlives_its_generation_under_load(tmp_path: Path):
    """Clients repeat the same /search, /suggest and /related requests while index runs
    switch in new generations, each adding one document with the word "zzsentinel". Every
    answer must be the one of the generation it names in X-Index-Generation: its total,
    its completion's count and its related events those of that generation."""
    root = tmp_path / "content"
    shutil.copytree(SAMPLE_CONTENT, root)
    write(root, "news/2020/01/01/sentinel-0.md", SENTINEL.format(n=0, day=1))
    config = config_for(root, tmp_path / "ix")
    run_index(config, progress=False)
    expected: dict[int, int] = {}  # generation -> documents with the word
    server = Server(root, tmp_path / "ix", "--no-schedule").wait_ready()
    seen: list[tuple[int, int, int, int]] = []
    errors: list[str] = []
    stop = threading.Event()

    def client() -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                found = session.get(server.url + "/search?q=zzsentinel", timeout=10)
                typed = session.get(server.url + "/suggest?q=Sentinel&limit=20", timeout=10)
                near = session.get(
                    server.url + "/events/news/2020/01/01/sentinel-0.md/related?tag=Sentinel",
                    timeout=10,
                )
            except requests.RequestException as exc:
                errors.append(repr(exc))
                return
            if {found.status_code, typed.status_code, near.status_code} != {200}:
                errors.append(f"{found.status_code} {typed.status_code} {near.status_code}")
                return
            tag = next(
                (s["count"] for s in typed.json()["suggestions"] if s["text"] == "Sentinel"), 0
            )
            seen.append((int(found.headers["X-Index-Generation"]), found.json()["total"], 0, 0))
            seen.append((int(typed.headers["X-Index-Generation"]), tag, 1, 0))
            seen.append(
                (int(near.headers["X-Index-Generation"]), len(near.json()["hits"]) + 1, 2, 0)
            )

    try:
        from whoosh import index as whoosh_index

        def generation() -> int:
            return whoosh_index.open_dir(str(tmp_path / "ix")).latest_generation()

        expected[generation()] = 1
        threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        for n in range(1, 5):
            eventually(lambda n=n: len(seen) > 30 * n, 60)
            write(
                root, f"news/2020/01/{n + 1:02d}/sentinel-{n}.md", SENTINEL.format(n=n, day=n + 1)
            )
            run_index(config, progress=False)
            expected[generation()] = n + 1
            # Served: the newest generation answers within a bounded time.
            newest = max(expected)
            eventually(lambda newest=newest: any(g == newest for g, *_ in seen[-30:]), 60)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        server.stop()
    assert not errors, errors[:3]
    by_what = {0: "search total", 1: "suggest count", 2: "related hits + 1"}
    wrong = [
        (by_what[what], gen, value, expected.get(gen))
        for gen, value, what, _ in seen
        if expected.get(gen) != value
    ]
    assert not wrong, wrong[:5]
    assert len({g for g, *_ in seen}) == len(expected)  # every generation answered


def test_an_edited_synonyms_file_changes_the_etag_too(sample_index, tmp_path):
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("# none yet\n", encoding="utf-8")
    client = warm_client(sample_index, **{"search.synonyms": str(synonyms)})
    first = client.get("/search?q=zzunknownword")
    assert first.get_json()["total"] == 0
    synonyms.write_text("zzunknownword -> soldiers\n", encoding="utf-8")
    again = client.get("/search?q=zzunknownword", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and again.get_json()["total"] > 0
    assert again.headers["ETag"] != first.headers["ETag"]


def test_a_cached_answer_echoes_each_request_s_own_query(sample_index):
    client = warm_client(sample_index)
    sent = ['"armed forces" Mali', '  "armed   forces"  Mali ', '"armed forces"\tMali']
    answers = [client.get("/search", query_string={"q": q}) for q in sent]
    assert cache_stats(client)["hits"] == 2  # one request, three spellings
    bodies = [a.get_json() for a in answers]
    for q, body, answer in zip(sent, bodies, answers, strict=True):
        assert body["query"] == q.strip()
        assert isinstance(body["took_ms"], float)
        assert answer.data.endswith(b"}\n") and answer.mimetype == "application/json"
    assert dict(bodies[0], took_ms=0, query="") == dict(bodies[1], took_ms=0, query="")


def test_a_phrase_kept_from_one_query_answers_another_as_found_afresh(sample_index):
    """The documents holding a phrase are kept per generation (tables.phrase): a phrase
    found for one query, in any field, gives another query the answer it gets alone."""
    from searchsvc.index import SearchIndex
    from searchsvc.query import SearchRequest

    config = config_for(
        sample_index / "content", sample_index / "ix", **{"search.cache_entries": 0}
    )
    queries = [
        '"northern mali"',
        '"northern mali" troops',
        'title:"northern mali" OR Gao',
        '"french troops"',
        '"french troops" -Diabaly',
        '"mali conflict" 2013',
    ]
    kept = SearchIndex(config)
    for q in queries:  # every phrase is found once here, then taken from what was kept
        kept.search(SearchRequest(q=q))

    def answer(index: SearchIndex, q: str) -> tuple:
        r = index.search(SearchRequest(q=q, per_page=50))
        return r.total, [h.id for h in r.hits], r.facets

    for q in queries:
        fresh = SearchIndex(config)
        assert answer(kept, q) == answer(fresh, q), q
    assert answer(kept, '"northern mali"')[0] > answer(kept, 'title:"northern mali"')[0] > 0
