"""When and where, over HTTP against the real server: the date histogram, the places'
coordinates in the locations facet, the geographic filters (and their 400s), and the
page's timeline and map without JavaScript. Exactness against an oracle is in
test_exact.py; the page in a real browser in test_browser_when_where.py."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from conftest import SEED_EVENT_ID


def search(server, **params) -> dict:
    r = requests.get(server.url + "/search", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def ids(body: dict) -> set[str]:
    return {h["id"] for h in body["hits"]}


def test_histogram_counts_the_whole_result(sample_server):
    body = search(sample_server, q="Mali", histogram="month", per_page=1)
    h = body["histogram"]
    assert h["interval"] == "month" and len(body["hits"]) == 1
    assert sum(b["count"] for b in h["buckets"]) + h["undated"] == body["total"] > 10
    keys = [b["key"] for b in h["buckets"]]
    assert keys == sorted(keys) and all(re.fullmatch(r"\d{4}-\d{2}", k) for k in keys)
    # A bucket's key is a valid from/to, and narrowing to it finds its count.
    first = h["buckets"][0]
    narrowed = search(
        sample_server, q="Mali", per_page=1, **{"from": first["key"], "to": first["key"]}
    )
    assert narrowed["total"] == first["count"]
    assert "histogram" not in search(sample_server, q="Mali", per_page=1)


def test_auto_histogram_follows_the_span(sample_server):
    one_day = search(
        sample_server, histogram="auto", per_page=1, **{"from": "2013-01-21", "to": "2013-01-21"}
    )
    assert one_day["histogram"]["interval"] == "day"
    assert one_day["histogram"]["buckets"] == [{"key": "2013-01-21", "count": one_day["total"]}]
    everything = search(sample_server, histogram="auto", per_page=1)
    assert everything["histogram"]["interval"] in ("month", "year")


def test_locations_facet_carries_kind_and_coordinates(sample_server):
    places = {f["value"]: f for f in search(sample_server, q="Douentza")["facets"]["locations"]}
    douentza, mali = places["Douentza"], places["Mali"]
    assert douentza["kind"] == "city" and abs(douentza["lat"] - 15.0) < 0.1
    assert abs(douentza["lon"] + 2.95) < 0.1
    assert mali["kind"] == "country" and 10 < mali["lat"] < 25


def test_near_and_bbox_select_documents_by_their_places(sample_server):
    near_douentza = search(sample_server, near="Douentza", km=50, per_page=100)
    assert SEED_EVENT_ID in ids(near_douentza)
    # Every hit names a place within 50 km of Douentza: Douentza itself, here.
    assert all("Douentza" in h["locations"] for h in near_douentza["hits"])
    by_coordinates = search(sample_server, near="15.0061,-2.9517", km=50, per_page=100)
    assert ids(by_coordinates) == ids(near_douentza)
    wider = search(sample_server, near="Douentza", km=1000, per_page=1)
    assert wider["total"] > near_douentza["total"]
    paris = search(sample_server, near="48.85,2.35", km=50, per_page=100)
    assert SEED_EVENT_ID not in ids(paris)
    sahel = search(sample_server, bbox="-12,10,5,25", q="Douentza")
    assert SEED_EVENT_ID in ids(sahel)
    pacific = search(sample_server, bbox="170,-50,-170,-10", q="Douentza")  # across 180
    assert pacific["total"] == 0
    # The filters narrow /related too.
    r = requests.get(
        f"{sample_server.url}/events/{SEED_EVENT_ID}/related",
        params={"near": "48.85,2.35", "km": "1"},
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["hits"] == []


@pytest.mark.parametrize(
    "params, param",
    [
        ({"near": "Atlantis"}, "near"),
        ({"near": "Texas"}, "near"),  # known, but without coordinates
        ({"near": "91,0"}, "near"),
        ({"near": "10,-181"}, "near"),
        ({"near": "1234,5"}, "near"),
        ({"near": "Douentza", "km": "0"}, "km"),
        ({"near": "Douentza", "km": "far"}, "km"),
        ({"km": "10"}, "km"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "0,50,10,40"}, "bbox"),
        ({"bbox": "0,0,200,10"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"histogram": "week"}, "histogram"),
        ({"histogram": ["day", "month"]}, "histogram"),
    ],
)
def test_bad_values_are_a_400_naming_the_parameter(sample_server, params, param):
    r = requests.get(sample_server.url + "/search", params=params, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param and r.json()["error"]["message"]


def _links(html: str, cls: str) -> list[str]:
    return [unescape(h) for h in re.findall(rf'<a class="{cls}" href="([^"]+)"', html)]


def test_the_page_draws_the_timeline_and_the_map_without_script(sample_server):
    r = requests.get(sample_server.url + "/", params={"q": "Mali"}, timeout=30)
    html = r.text
    assert r.status_code == 200 and "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert " style=" not in html and "<style" not in html  # the CSP allows no inline style
    bars, dots = _links(html, "bar"), _links(html, "dot")
    assert bars and dots
    # A bar narrows from/to to its period; the page then shows the range, removable.
    query = parse_qs(urlsplit(bars[0]).query)
    assert query["q"] == ["Mali"] and query["from"] == query["to"]
    narrowed = requests.get(sample_server.url + bars[0], timeout=30).text
    assert "Dates: <strong>" in narrowed
    (clear,) = _links(narrowed, "range-clear")
    assert "from=" not in clear and "to=" not in clear and "q=Mali" in clear
    # A dot filters by its place; the places are also a plain list with coordinates.
    assert any(parse_qs(urlsplit(d).query).get("location") == ["Douentza"] for d in dots)
    assert 'class="coords"' in html and "Natural Earth" in html
    svg = requests.get(sample_server.url + "/static/world.svg", timeout=30)
    assert svg.status_code == 200 and svg.text.count("<path") > 150


def test_the_event_page_shows_its_places_and_its_related_events_in_time(sample_server):
    html = requests.get(f"{sample_server.url}/doc/{SEED_EVENT_ID}", timeout=30).text
    dots = _links(html, "dot")
    assert any(parse_qs(urlsplit(d).query).get("location") == ["Douentza"] for d in dots)
    # Its related events on a time axis, each a link to the event.
    related = re.findall(r'<li>\s*<a href="([^"]+)"', html.split('id="related-heading"')[1])
    marks = _links(html, "mark")
    assert marks and set(marks) <= set(map(unescape, related))
