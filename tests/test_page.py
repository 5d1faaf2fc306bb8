"""The search page as served (HTML over real HTTP): what it says it shows, its
descriptions and titles, and its static files' caching. The browser tests
(tests/test_browser.py) drive the same pages in Chromium."""

from __future__ import annotations

import html
import re

import pytest
import requests
from conftest import SEED_EVENT_ID

from searchsvc.web.page_state import display_title, story_title

YEAR = "public, max-age=31536000, immutable"


@pytest.fixture(scope="module")
def server(sample_server):
    return sample_server


def page(server, path: str, **params) -> str:
    r = requests.get(server.url + path, params=params, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    return r.text


def first(pattern: str, text: str) -> str:
    m = re.search(pattern, text, re.S)
    assert m, pattern
    return html.unescape(m.group(1)).strip()


def test_static_files_are_fingerprinted_and_kept_a_year(server):
    home = page(server, "/")
    for name in ("style.css", "suggest.js", "favicon.svg"):
        url = first(rf'"(/static/{re.escape(name)}\?v=[0-9a-f]{{12}})"', home)
        r = requests.get(server.url + url, timeout=30)
        assert r.status_code == 200 and r.headers["Cache-Control"] == YEAR, name
        again = requests.get(
            server.url + url, headers={"If-None-Match": r.headers["ETag"]}, timeout=30
        )
        assert again.status_code == 304 and again.headers["Cache-Control"] == YEAR, name
        # Not the current digest (an old page, a typed URL): the file, revalidated.
        for stale in (f"/static/{name}", f"/static/{name}?v=000000000000"):
            r = requests.get(server.url + stale, timeout=30)
            assert r.status_code == 200 and r.headers["Cache-Control"] == "no-cache", stale
    r = requests.get(server.url + "/static/nothing.css?v=000000000000", timeout=30)
    assert r.status_code == 404
    icon = requests.get(server.url + "/favicon.ico", timeout=30)
    assert icon.status_code == 200 and icon.headers["Content-Type"].startswith("image/svg+xml")


def test_browsing_says_newest_first(server):
    text = page(server, "/")
    assert first(r"<h1>(.*?)</h1>", text) == "Latest news"
    assert first(r'<a [^>]*aria-current="true"[^>]*>(newest)</a>', text) == "newest"
    assert ">relevance</a>" not in text  # no query, no relevance to sort by
    assert first(r"<title>(.*?)</title>", text) == "News search"
    assert first(r'<meta name="description" content="(.*?)">', text).endswith(
        "results for the news: events and the sources behind them."
    )


def test_title_heading_and_description_say_the_query_and_page(server):
    text = page(server, "/", q="Mali", page="2")
    assert first(r"<title>(.*?)</title>", text) == "Mali – page 2 – News search"
    assert first(r"<h1>(.*?)</h1>", text) == "Results for “Mali”"
    assert re.search(r"\d+ results, page 2 of \d+", text)
    description = first(r'<meta name="description" content="(.*?)">', text)
    assert re.fullmatch(
        r"\d+ results for “Mali”: events and the sources behind them\.", description
    )


def test_active_filters_are_chips_and_current_facets(server):
    text = page(server, "/", q="Mali", tag="mali")  # any case: the index's keys have none
    chip = re.search(r'<a class="chip" href="([^"]*)">(.*?)<span', text)
    assert chip and html.unescape(chip.group(2)) == "Tag: mali"
    assert html.unescape(chip.group(1)) == "/?q=Mali"  # the chip removes its filter
    current = re.findall(
        r'<a href="([^"]*)" aria-current="true"><span class="vh">(.*?)</span>(.*?) <', text
    )
    assert [(html.unescape(h), label, value) for h, label, value in current] == [
        ("/?q=Mali", "Remove the tag filter ", "Mali")
    ]
    assert first(r"<title>(.*?)</title>", text) == "Mali – News search"
    # Tags and places are told apart in words, for eyes and for screen readers.
    assert '<span class="labels-kind">Tags</span>' in text
    assert '<span class="vh">Tag </span>' in text and '<span class="vh">Place </span>' in text


def test_a_year_is_one_chip(server):
    text = page(server, "/", q="Mali", **{"from": "2013", "to": "2013"})
    chips = re.findall(r'<a class="chip" href="([^"]*)">(.*?)<span', text)
    assert [(html.unescape(h), t) for h, t in chips] == [("/?q=Mali", "Year: 2013")]


def test_a_bad_request_is_a_page_that_says_so(server):
    r = requests.get(server.url + "/", params={"q": "Mali", "page": "abc"}, timeout=30)
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("text/html")
    assert first(r"<h1>(.*?)</h1>", r.text) == "Results for “Mali”"
    assert "page" in first(r'<p class="error" role="alert">(.*?)</p>', r.text)


def test_event_page_describes_the_event(server):
    text = page(server, "/doc/" + SEED_EVENT_ID)
    title = first(r"<title>(.*?)</title>", text)
    assert title.startswith("Northern Mali conflict: French and Malian troops retake Diabaly")
    description = first(r'<meta name="description" content="(.*?)">', text)
    assert 50 < len(description) <= 156 and "Douentza" in description
    assert first(r'<a class="skip" href="#main">(.*?)</a>', text) == "Skip to the event"


@pytest.mark.parametrize(
    "title, story, shown",
    [
        ("Northern Mali conflict:French troops", None, "Northern Mali conflict: French troops"),
        ("Media:Time magazine", "Media", "Media: Time magazine"),
        (
            "2016 Nampala attack: At least 12",
            "2016 Nampala attack",
            "2016 Nampala attack: At least 12",
        ),
        ("Meeting at 10:30 in Bamako", None, "Meeting at 10:30 in Bamako"),
        ("See http://example.org/x", None, "See http://example.org/x"),
        ("Why? Because: reasons and more", None, "Why? Because: reasons and more"),
    ],
)
def test_story_prefix_shown_apart(title, story, shown):
    assert display_title(title, story) == shown
    prefix, rest = story_title(title, story)
    assert (prefix + ":" + rest if prefix else rest).replace(": ", ":") == title.replace(": ", ":")
