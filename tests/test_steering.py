"""Typo tolerance, synonyms, collapsing by story, recency and editors' pins, over the real
HTTP server: the bundled sample, a few events of our own, and files of synonyms and pins
that tests change while it serves."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests
from conftest import Server, eventually, write

from searchsvc.config import SAMPLE_CONTENT

EVENTS = {
    "news/2022/03/01/shelling-hits-kyiv.md": (
        "2022-03-01",
        "locations: [Kyiv]",
        "Russo-Ukrainian War: Shelling hits Kyiv suburbs",
        "Shelling hits the suburbs of the capital overnight.",
    ),
    "news/2022/03/02/talks-stall.md": (
        "2022-03-02",
        "locations: [Kyiv]",
        "Russo-Ukrainian War: Talks stall",
        "Talks between the delegations stall in Kiev.",
    ),
    "news/2022/03/05/power-restored.md": (
        "2022-03-05",
        "locations: [Kyiv]",
        "Russo-Ukrainian War: Power restored in the capital",
        "Engineers restore power to most districts.",
    ),
    "news/2022/03/06/flooding-britain.md": (
        "2022-03-06",
        "locations: [United Kingdom]",
        "Flooding across the United Kingdom",
        "Rivers burst their banks after a week of rain.",
    ),
    "news/2022/03/07/coronavirus-cases.md": (
        "2022-03-07",
        "tags: [coronavirus]",
        "Coronavirus cases rise in Bamako",
        "Hospitals in Bamako report more coronavirus cases.",
    ),
}
# Only a source text's body holds "Duentza": the vocabulary (titles, summaries) does not.
LETTER = "sources/bbc/letter-from-a-reader.txt"
LETTER_TEXT = "Letter from a reader\n\nA short note.\n\nShe wrote Duentza for the town.\n"
SYNONYMS = "Kyiv, Kiev\nCOVID-19, coronavirus, SARS-CoV-2\nUK -> United Kingdom\n"
PINNED = ["news/2022/03/06/flooding-britain.md", "news/2022/03/01/shelling-hits-kyiv.md"]
PINS = f'"Élection  RESULTS" = {[*PINNED, "news/nowhere.md"]!r}\n'.replace("'", '"')


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("steering")
    root = base / "content"
    shutil.copytree(SAMPLE_CONTENT, root)
    for rel, (date, label, title, text) in EVENTS.items():
        write(root, rel, f"---\ndate: {date}\n{label}\n---\n\n# {title}\n\n{text}\n")
    write(root, LETTER, LETTER_TEXT)
    files = base / "files"
    files.mkdir()
    (files / "synonyms.txt").write_text(SYNONYMS, encoding="utf-8")
    (files / "pins.toml").write_text(PINS, encoding="utf-8")
    env = {
        "SEARCHSVC_SEARCH_SYNONYMS": str(files / "synonyms.txt"),
        "SEARCHSVC_SEARCH_PINS": str(files / "pins.toml"),
    }
    # One worker: what a test reads and what it changes concern the same process.
    server = Server(root, base / "ix", "--no-schedule", "--workers", "1", env=env).wait_ready()
    server.files = files
    yield server
    server.stop()


def search(server, **params):
    response = requests.get(server.url + "/search", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def ids(body):
    return [h["id"] for h in body["hits"]]


def rewrite(path: Path, text: str) -> None:
    """Replace a file so that a reader sees it changed (size and time both move on)."""
    path.write_text(text, encoding="utf-8")


def assert_400(server, **params):
    response = requests.get(server.url + "/search", params=params, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] in params


# --- typo tolerance ----------------------------------------------------------------------


def test_a_misspelled_word_is_searched_as_the_index_spells_it(served):
    body = search(served, q="Douentzaa")
    assert body["corrected_query"] == "Douentza" and "did_you_mean" not in body
    assert body["total"] == search(served, q="Douentza")["total"] >= 2
    assert set(ids(body)) == set(ids(search(served, q="Douentza")))


def test_exact_matches_come_before_corrected_ones(served):
    body = search(served, q="Duentza")
    exact = LETTER
    assert body["corrected_query"] == "Douentza"
    assert ids(body)[0] == exact
    assert body["total"] == 1 + search(served, q="Douentza")["total"]
    assert body["facets"]["tags"]  # counted over exact and corrected matches alike
    # spell=off: the words as typed only, with the suggestion as before
    off = search(served, q="Duentza", spell="off")
    assert ids(off) == [exact] and off["did_you_mean"] == "Douentza"
    assert "corrected_query" not in off


def test_no_correction_when_the_words_find_enough_or_nothing_better(served):
    assert "corrected_query" not in search(served, q="Mali")
    assert "corrected_query" not in search(served, q="xqzzyvw")
    assert "corrected_query" not in search(served, q='"Duentza"')  # syntax: as typed
    assert_400(served, q="Mali", spell="maybe")


# --- synonyms ------------------------------------------------------------------------------


def test_synonyms_both_ways_one_way_and_phrases(served):
    kyiv, kiev = search(served, q="Kyiv"), search(served, q="kiev")
    assert (
        set(ids(kyiv))
        == set(ids(kiev))
        == {
            "news/2022/03/01/shelling-hits-kyiv.md",
            "news/2022/03/02/talks-stall.md",
        }
    )
    # a multi-word alternative is a phrase; one way: "United Kingdom" does not find "UK"
    assert ids(search(served, q="UK flooding")) == ["news/2022/03/06/flooding-britain.md"]
    assert "news/2022/03/06/flooding-britain.md" in ids(search(served, q="United Kingdom"))
    covid = search(served, q="covid-19 Bamako")
    assert ids(covid) == ["news/2022/03/07/coronavirus-cases.md"]
    assert "<mark>coronavirus</mark>" in covid["hits"][0]["snippet"].lower()


def test_synonyms_in_location_and_tag_filters(served):
    tagged = {"news/2022/03/01/shelling-hits-kyiv.md", "news/2022/03/02/talks-stall.md"}
    tagged.add("news/2022/03/05/power-restored.md")
    assert set(ids(search(served, location="Kiev"))) == tagged
    assert search(served, location="KYIV")["total"] == 3
    assert ids(search(served, tag="SARS-CoV-2")) == ["news/2022/03/07/coronavirus-cases.md"]
    # facets stay as the documents spell their labels
    facet = search(served, location="Kiev")["facets"]["locations"]
    assert ("Kyiv", 3) in [(f["value"], f["count"]) for f in facet]


def test_synonyms_file_is_read_again_and_a_broken_one_keeps_the_last_good(served):
    path = served.files / "synonyms.txt"
    try:
        rewrite(path, SYNONYMS + "Bamako, Bamaco\n")
        eventually(lambda: search(served, q="Bamaco", spell="off")["total"] >= 1, 30)
        rewrite(path, "Kyiv\n")  # a group of one: refused, the last good list stays
        eventually(lambda: "line 1" in (stats(served)["synonyms"]["error"] or ""), 30)
        assert search(served, q="Bamaco", spell="off")["total"] >= 1
        assert search(served, q="Kiev")["total"] == 2
    finally:
        rewrite(path, SYNONYMS)
    eventually(lambda: search(served, q="Bamaco", spell="off")["total"] == 0, 30)


def stats(server):
    return requests.get(server.url + "/stats", timeout=30).json()


# --- collapse by story ---------------------------------------------------------------------


def test_collapse_by_story_shows_a_story_once_with_its_count(served):
    full = search(served, q="Mali", per_page=100)
    order = ids(full)
    story = {h["id"]: (h["story"] or "").lower() for h in full["hits"]}  # as filters do
    kind = {h["id"]: h["kind"] for h in full["hits"]}
    assert full["total"] == len(order)
    body = search(served, q="Mali", collapse="story", per_page=100)
    assert body["total"] == full["total"] and body["facets"] == full["facets"]
    shown = ids(body)
    assert body["total_groups"] == len(shown) < body["total"]
    firsts = {}
    for d in order:
        key = story[d] if story[d] and kind[d] == "event" else d
        firsts.setdefault(key, d)
    assert shown == [d for d in order if d in set(firsts.values())]
    for hit in body["hits"]:
        members = [d for d in order if story[d] == story[hit["id"]] and kind[d] == "event"]
        if hit["story"] and len(members) > 1:
            assert hit["collapsed"] == len(members) - 1
            more = requests.get(f"{served.url}/search?{hit['see_all']}", timeout=30).json()
            assert sorted(ids(more)) == sorted(members)
        else:
            assert "collapsed" not in hit and "see_all" not in hit
    # pages page over the groups
    paged = []
    for page in range(1, 5):
        paged += ids(search(served, q="Mali", collapse="story", per_page=4, page=page))
    assert paged == shown[:16]
    assert_400(served, q="Mali", collapse="tag")


def test_collapse_without_a_query_and_by_date(served):
    body = search(served, collapse="story", sort="-date", per_page=50)
    plain = search(served, sort="-date", per_page=100)
    stories = [h["story"].lower() for h in body["hits"] if h["story"] and h["kind"] == "event"]
    assert len(stories) == len(set(stories))
    assert body["total"] == plain["total"] and body["total_groups"] < body["total"]
    dates = [h["date"] or "" for h in body["hits"]]
    assert dates == sorted(dates, reverse=True)


# --- recency -------------------------------------------------------------------------------


def test_recency_multiplies_scores_by_a_decay_on_age(served):
    import datetime as dt

    def day(sort):
        return dt.date.fromisoformat(search(served, sort=sort, per_page=1)["hits"][0]["date"])

    newest, oldest = day("-date"), day("date")
    plain = {h["id"]: h for h in search(served, q="attack Mali")["hits"]}
    decayed = search(served, q="attack Mali", recency=365)
    assert decayed["total"] == len(plain) and set(ids(decayed)) == set(plain)
    assert ids(decayed) != list(plain)  # the order changes
    for hit in decayed["hits"]:
        # an undated document is taken to be as old as the oldest
        age = (newest - (dt.date.fromisoformat(hit["date"]) if hit["date"] else oldest)).days
        # (fewer hits than the re-ranked top: their bonuses are the same in both orders)
        factor = max(0.5 ** (age / 365), 0.001)
        assert hit["score"] == pytest.approx(plain[hit["id"]]["score"] * factor, 1e-3, 2e-4)
    scores = [h["score"] for h in decayed["hits"]]
    assert scores == sorted(scores, reverse=True)
    # Ten half-lives and older: the factor stops at 0.001, and relevance still decides.
    floored = search(served, q="attack Mali", recency=30)
    assert ids(floored) == list(plain)
    assert ids(search(served, q="Islamist rebels", recency=0)) == ids(
        search(served, q="Islamist rebels")
    )
    assert_400(served, q="Mali", recency="soon")
    assert_400(served, q="Mali", recency="99999")


# --- pins ----------------------------------------------------------------------------------


def test_pins_come_first_for_their_normalised_query(served):
    body = search(served, q="election results")
    assert ids(body)[:2] == PINNED
    assert [h.get("pinned", False) for h in body["hits"][:3]] == [True, True, False]
    assert body["total"] == len(set(ids(search(served, q="election results", per_page=100))))
    assert set(PINNED) <= set(ids(search(served, q="ELECTION   resúlts", per_page=100)))
    assert not any(h.get("pinned") for h in search(served, q="election")["hits"])
    assert not any(
        h.get("pinned") for h in search(served, q="election results", sort="date")["hits"]
    )
    # a filter the pin fails leaves it out; the page after holds no pin twice
    filtered = search(served, q="election results", location="Kyiv")
    assert ids(filtered)[:1] == [PINNED[1]]
    second = search(served, q="election results", per_page=1, page=2)
    assert ids(second) == [PINNED[1]]


def test_unknown_pinned_ids_are_reported_and_a_broken_file_keeps_the_last_good(served):
    assert stats(served)["pins"]["unknown_ids"] == ["news/nowhere.md"]
    eventually(lambda: "does not hold: ['news/nowhere.md']" in served.log.read_text(), 30)
    path = served.files / "pins.toml"
    try:
        rewrite(path, '"election results" = "not a list"\n')
        eventually(lambda: "list" in (stats(served)["pins"]["error"] or ""), 30)
        assert ids(search(served, q="election results"))[:2] == PINNED
        rewrite(path, f'"election results" = ["{PINNED[1]}"]\n')
        eventually(lambda: ids(search(served, q="election results"))[:1] == [PINNED[1]], 30)
    finally:
        rewrite(path, PINS)
    eventually(lambda: ids(search(served, q="election results"))[:2] == PINNED, 30)


# --- the page ------------------------------------------------------------------------------


def test_the_page_says_what_it_corrected_and_collapses_on_request(served):
    import html

    page = requests.get(served.url + "/", params={"q": "Douentzaa"}, timeout=30).text
    assert 'class="corrected">Douentza</strong>' in page
    assert 'href="/?q=Douentzaa&amp;spell=off"' in page
    as_typed = requests.get(served.url + "/?q=Douentzaa&spell=off", timeout=30).text
    assert 'class="corrected"' not in as_typed and "did you mean" in as_typed.lower()
    grouped = requests.get(served.url + "/?q=Mali&collapse=story", timeout=30).text
    more = search(served, q="Mali", collapse="story")["hits"]
    first = next(h for h in more if h.get("collapsed"))
    assert f"{first['collapsed']} more in this story" in grouped
    assert html.escape(f"/?{first['see_all']}") in grouped
    assert 'href="/?q=Mali">every event</a>' in grouped
