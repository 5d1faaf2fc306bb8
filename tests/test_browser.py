"""The search page in a real browser: headless Chromium (Debian's `chromium`, installed by
.ci/run) driven by Playwright, against the real server.

Every page kind is audited with axe-core (`axe-playwright-python`, which ships it) at
desktop and phone width, with the suggestions open and closed: any violation of a WCAG 2.2
A/AA rule or of axe's best practices fails. `bench/lighthouse.py` gives the Lighthouse
scores of the same pages.

Set SEARCHSVC_SCREENSHOTS=docs to keep the screenshots the README shows (desktop and
phone). Without a Chromium the tests are skipped, unless SEARCHSVC_REQUIRE_BROWSER=1 (CI)
makes them fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import SEED_EVENT_ID

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
PAGES = {
    "home": "/",
    "results": "/?q=Douentza",
    "tag filter": "/?tag=Mali",
    "page 2": "/?q=Mali&page=2",
    "event": "/doc/" + SEED_EVENT_ID,
}
DESKTOP = {"width": 1100, "height": 900}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 10_000  # for a suggestion list or a page to appear


@pytest.fixture(scope="module")
def server(sample_server):
    return sample_server


def test_search_suggest_narrow_and_open(browser, server, tmp_path):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(server.url + "/")
    assert page.locator("label[for=q]").inner_text() == "Search the news"
    assert page.locator("#q").get_attribute("role") == "combobox"

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
    assert first.locator("h3 a").get_attribute("href").endswith(SEED_EVENT_ID)
    assert "Douentza" in first.locator(".snippet mark").first.inner_text()
    # A story prefix reads "Story: Title" (the content writes "conflict:French").
    assert first.locator("h3 a").inner_text().startswith("Northern Mali conflict: French")
    shot = Path(os.environ.get("SEARCHSVC_SCREENSHOTS") or tmp_path) / "screenshot.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # Narrow by a year facet.
    with page.expect_navigation():
        page.locator("a.facet-year", has_text="2013").click()
    assert "from=2013" in page.url and "to=2013" in page.url
    dates = page.locator(".hit time").all_inner_texts()
    assert dates and all(d.startswith("2013") for d in dates)

    # Open the event: the full event, its sources and its related events.
    with page.expect_navigation():
        page.locator(".hit h3 a", has_text="Douentza").first.click()
    assert page.locator("h1").inner_text().startswith("Northern Mali conflict: French")
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
    assert page.locator(".hit h3 a").first.get_attribute("href").endswith(SEED_EVENT_ID)
    # The filters are there (open) and work without the script.
    with page.expect_navigation():
        page.locator(".facets a", has_text="Mali").first.click()
    assert page.locator(".chip").count() == 1
    context.close()


def violations(page) -> list[str]:
    """axe-core's violations of WCAG 2.2 A/AA and best practice on the page as it is."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    found = Axe().run(page, options=options).response["violations"]
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in found]


def open_suggestions(page, text: str = "Douent") -> None:
    page.locator("#q").fill("")
    page.locator("#q").press_sequentially(text, delay=30)
    page.locator("#suggestions [role=option]").first.wait_for(state="visible", timeout=WAIT_MS)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_accessibility_violation_on_any_page(browser, server, viewport):
    context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE)
    page = context.new_page()
    found = {}
    for name, path in PAGES.items():
        page.goto(server.url + path)
        found[name] = violations(page)
    for name in ("home", "results"):  # the suggestions open, over the page
        page.goto(server.url + PAGES[name])
        open_suggestions(page)
        found[name + ", suggestions open"] = violations(page)
    context.close()
    assert found == {name: [] for name in found}


def test_search_box_is_a_combobox(browser, server):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(server.url + "/")
    box = page.locator("#q")
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-expanded") == "false"
    open_suggestions(page)
    assert box.get_attribute("aria-expanded") == "true"
    count = page.locator("#suggestions [role=option]").count()
    assert page.locator("#suggest-status").inner_text().startswith(f"{count} suggestion")
    options = page.locator("#suggestions [role=option]")
    assert options.first.get_attribute("aria-setsize") == str(count)

    # Escape closes the list and keeps the text.
    box.press("Escape")
    assert page.locator("#suggestions").is_hidden()
    assert box.get_attribute("aria-expanded") == "false"
    assert box.input_value() == "Douent"
    # ArrowDown opens it again, on its first option.
    box.press("ArrowDown")
    options.first.wait_for(state="visible", timeout=WAIT_MS)
    assert box.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    assert options.first.get_attribute("aria-selected") == "true"
    # The same text typed again gets its suggestions again.
    box.press("Escape")
    box.press("Backspace")
    box.press("t")
    options.first.wait_for(state="visible", timeout=WAIT_MS)
    assert box.input_value() == "Douent"
    page.close()


def tab_to(page, selector: str, presses: int = 150) -> None:
    """Press Tab until the focused element matches the selector (at most `presses`)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached in {presses} presses of Tab")


def test_keyboard_only(browser, server):
    """Type, pick a suggestion, apply and remove a filter, page forward and open an event:
    keys only, never the mouse."""
    page = browser.new_page(viewport=DESKTOP)
    page.goto(server.url + "/")
    tab_to(page, "#q")
    page.keyboard.type("Douent", delay=30)
    page.locator("#suggestions [role=option]").first.wait_for(state="visible", timeout=WAIT_MS)
    page.keyboard.press("ArrowDown")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Results for “Douentza”"

    # Apply a tag filter from the facets, then remove it from its chip.
    tab_to(page, ".facets a[href*='tag=Mali']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".chip").inner_text().startswith("Tag: Mali")
    assert page.locator(".facets a[aria-current=true]").count() == 1
    tab_to(page, ".chip")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".chip").count() == 0 and "tag=" not in page.url

    # A new query with more than a page of results; page forward.
    tab_to(page, "#q")
    page.keyboard.press("Control+A")
    page.keyboard.type("Mali")
    page.keyboard.press("Escape")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "a[rel=next]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "page=2" in page.url and page.title().startswith("Mali – page 2")

    # Open the first event of the page.
    tab_to(page, ".hit h3 a")
    title = page.evaluate("document.activeElement.innerText")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == title
    page.close()


def test_phone_first(browser, server, tmp_path):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(server.url + "/?q=Mali")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # no sideways scrolling

    # The filters come before the hits, closed behind a disclosure button.
    toggle = page.locator("details.filters > summary")
    assert toggle.is_visible()
    assert toggle.bounding_box()["y"] < page.locator(".hit").first.bounding_box()["y"]
    facet = page.locator(".facets a").first
    assert not facet.is_visible()
    toggle.focus()
    page.keyboard.press("Enter")
    facet.wait_for(state="visible", timeout=WAIT_MS)

    # Every target at least 44 px each way.
    for path in ("/?q=Mali&tag=Mali", PAGES["event"]):
        page.goto(server.url + path)
        page.evaluate("document.querySelector('details.filters')?.setAttribute('open', '')")
        small = page.evaluate(
            """() => [...document.querySelectorAll('a, button, input, summary')]
                .filter(e => e.getClientRects().length && !e.closest('.vh, .skip'))
                .map(e => [e.textContent.trim().slice(0, 30), e.getBoundingClientRect()])
                .filter(([, r]) => r.height < 44 || r.width < 44)
                .map(([t, r]) => `${t}: ${Math.round(r.width)}x${Math.round(r.height)}`)"""
        )
        assert small == [], path
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path

    page.goto(server.url + "/?q=Douentza")
    shot = Path(os.environ.get("SEARCHSVC_SCREENSHOTS") or tmp_path) / "screenshot-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    context.close()


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG contrast ratio of two sRGB colours."""

    def lum(c: tuple[int, int, int]) -> float:
        ch = [x / 255 for x in c]
        ch = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


FOCUS_STYLE = """() => {
  const rgb = s => s.match(/\\d+/g).slice(0, 3).map(Number);
  const e = document.activeElement, st = getComputedStyle(e);
  let p = e.parentElement;  // the background the ring is drawn on
  while (p && getComputedStyle(p).backgroundColor.replace(/\\s/g, '') === 'rgba(0,0,0,0)')
    p = p.parentElement;
  const bg = p ? getComputedStyle(p).backgroundColor : 'rgb(255, 255, 255)';
  return [e.outerHTML.slice(0, 60), st.outlineStyle, parseFloat(st.outlineWidth),
          rgb(st.outlineColor), rgb(bg)];
}"""


def test_focus_ring_visible_on_every_background(browser, server):
    """Tab through the results page and the header: each stop shows a ring at least 2 px
    wide, of at least 3:1 against the background it is drawn on."""
    page = browser.new_page(viewport=DESKTOP)
    page.goto(server.url + "/?q=Douentza&tag=Mali")
    weak = []
    for _ in range(40):
        page.keyboard.press("Tab")
        html, style, width, ring, background = page.evaluate(FOCUS_STYLE)
        if html.startswith("<body"):  # past the last stop: the browser's own UI
            continue
        ratio = contrast(tuple(ring), tuple(background))
        if style == "none" or width < 2 or ratio < 3:
            weak.append(f"{html}: {style} {width}px {ratio:.2f}:1")
    assert weak == []
    page.close()
