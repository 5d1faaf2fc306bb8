"""The timeline and the map in a real browser: headless Chromium driven by Playwright
(as test_browser.py), against the real server. A search, a click on a bar of the
timeline (the URL narrows from/to, the hits are of that period), the range removed, a
click on a dot of the map (the URL filters by its place, the hits name it), the same by
keyboard, and the event page's map.

SEARCHSVC_WHEN_WHERE_SHOT=docs/when-where.png keeps the screenshot the README shows.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import SEED_EVENT_ID


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_click_a_bar_then_a_dot(browser, sample_server, tmp_path):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    outside: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(sample_server.url) else outside.append(r.url),
    )
    page.goto(sample_server.url + "/")
    page.fill("#q", "Mali")
    with page.expect_navigation():
        page.press("#q", "Enter")
    total = int(page.locator(".summary").inner_text().split()[0].replace(",", ""))
    shot = os.environ.get("SEARCHSVC_WHEN_WHERE_SHOT") or str(tmp_path / "when-where.png")
    page.screenshot(path=shot, clip={"x": 0, "y": 0, "width": 1100, "height": 620})
    assert Path(shot).stat().st_size > 10_000

    # The tallest bar: click it, the page narrows to its period.
    bars = page.locator("a.bar")
    assert bars.count() > 3
    labels = bars.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    counts = [int(label.split(": ")[1].split()[0]) for label in labels]
    best = counts.index(max(counts))
    period = bars.nth(best).get_attribute("data-period")
    with page.expect_navigation():
        bars.nth(best).locator("rect.fill").click()
    assert query(page.url)["from"] == [period] and query(page.url)["to"] == [period]
    assert query(page.url)["q"] == ["Mali"]
    assert int(page.locator(".summary").inner_text().split()[0]) == max(counts) < total
    dates = page.locator(".hit time").all_inner_texts()
    assert dates and all(d.startswith(period) for d in dates)
    assert period in page.locator(".timeline .range").inner_text()

    # Remove the range: back to every date.
    with page.expect_navigation():
        page.locator("a.range-clear").click()
    assert "from" not in query(page.url) and query(page.url)["q"] == ["Mali"]

    # A dot (one whose middle no other dot covers): filters by its place.
    place = page.evaluate(
        """() => [...document.querySelectorAll('a.dot')].map(a => {
            const r = a.querySelector('circle').getBoundingClientRect();
            const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
            return top && a.contains(top) ? a.dataset.place : null;
        }).find(p => p)"""
    )
    assert place
    dot = page.locator(f'a.dot[data-place="{place}"]')
    count = int(dot.get_attribute("aria-label").split(": ")[1].split()[0])
    with page.expect_navigation():
        dot.locator("circle").click()
    assert query(page.url)["location"] == [place]
    assert int(page.locator(".summary").inner_text().split()[0]) == count  # the dot's count
    assert page.locator(".hit").count() == min(count, 10)
    assert not outside, outside  # no tile server, nothing fetched from elsewhere
    page.close()


def test_bars_and_dots_by_keyboard_and_the_event_map(browser, sample_server):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(sample_server.url + "/?q=Douentza")
    # Tab from the search button reaches the first bar, then Enter follows it.
    page.focus("button[type=submit]")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('bar')"):
            break
    else:
        pytest.fail("no bar of the timeline is reachable by Tab")
    period = page.evaluate("document.activeElement.getAttribute('data-period')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert query(page.url)["from"] == [period]
    page.goto(f"{sample_server.url}/doc/{SEED_EVENT_ID}")
    dot = page.locator('.document-map a.dot[data-place="Douentza"]')
    assert dot.count() == 1
    dot.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert query(page.url)["location"] == ["Douentza"]
    page.close()
