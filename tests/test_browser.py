"""The search page in a real browser: headless Chromium (Debian's `chromium`, installed by
.ci/run) driven by Playwright, against the real server.

Set SEARCHSVC_SCREENSHOT=docs/screenshot.png to keep the screenshot the README shows.
Without a Chromium the test is skipped, unless SEARCHSVC_REQUIRE_BROWSER=1 (CI) makes it
fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import SEED_EVENT_ID

CHROMIUM = os.environ.get("SEARCHSVC_CHROMIUM") or shutil.which("chromium") or ""
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        if os.environ.get("SEARCHSVC_REQUIRE_BROWSER"):
            pytest.fail("no Chromium (apt-get install chromium), and the browser test is required")
        pytest.skip("no Chromium installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(sample_server):
    return sample_server


def test_search_suggest_narrow_and_open(browser, server, tmp_path):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(server.url + "/")
    assert page.locator("label[for=q]").inner_text() == "Search the news"

    # Type, see the suggestion, choose it with the keyboard.
    page.locator("#q").press_sequentially("Douent", delay=60)
    option = page.locator("#suggestions [role=option]").first
    option.wait_for(state="visible", timeout=10_000)
    assert option.inner_text().startswith("Douentza")
    assert page.locator("#q").get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # The seed event first, Douentza highlighted.
    first = page.locator(".hit").first
    assert first.locator("h2 a").get_attribute("href").endswith(SEED_EVENT_ID)
    assert "Douentza" in first.locator(".snippet mark").first.inner_text()
    shot = os.environ.get("SEARCHSVC_SCREENSHOT") or str(tmp_path / "search.png")
    page.screenshot(path=shot, full_page=True)
    assert Path(shot).stat().st_size > 10_000

    # Narrow by a year facet.
    with page.expect_navigation():
        page.locator("a.facet-year", has_text="2013").click()
    assert "from=2013" in page.url and "to=2013" in page.url
    dates = page.locator(".hit time").all_inner_texts()
    assert dates and all(d.startswith("2013") for d in dates)

    # Open the event: the full event, its sources and its related events.
    with page.expect_navigation():
        page.locator(".hit h2 a", has_text="Douentza").first.click()
    assert page.locator("h1").inner_text().startswith("Northern Mali conflict")
    assert "BBC" in page.locator(".sources").inner_text()
    related = page.locator(".related li")
    assert related.count() >= 3
    assert "shares" in related.first.inner_text()
    page.close()


def test_basic_search_works_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server.url + "/")
    page.fill("#q", "Douentza")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.locator(".hit h2 a").first.get_attribute("href").endswith(SEED_EVENT_ID)
    context.close()


def test_readable_on_a_phone(browser, server):
    page = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True)
    page.goto(server.url + "/?q=Mali")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 380  # no sideways scrolling
    page.close()
