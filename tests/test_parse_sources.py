"""Source texts: scraped chrome stripped, a real title, front matter, linking fields."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import SEED_SOURCE_ID, SHARED, seed_text

from searchsvc.model import Document
from searchsvc.parsing import parse_text
from searchsvc.parsing.sources import is_chrome


def source(text: str, doc_id: str = "sources/x/a.txt") -> Document:
    doc = parse_text(doc_id, text, "source")
    assert isinstance(doc, Document), doc
    return doc


def test_bundled_seed_is_the_shared_seed():
    shared = SHARED / "seeds" / "004_21c2089d99f203a8.txt"
    if not shared.exists():
        pytest.skip("../shared is not beside the project")
    assert seed_text("source") == shared.read_text(encoding="utf-8")


def test_seed_source_field_by_field():
    doc = source(seed_text("source"), SEED_SOURCE_ID)
    assert doc.kind == "source"
    assert doc.title != "Skip to main content"
    # No title in the text: a short lead stands in, never chrome or a photo caption.
    assert doc.title.startswith("The federal government has evacuated most of its staff")
    assert len(doc.title) <= 101
    assert doc.summary.startswith("The federal government has evacuated")
    assert doc.date is None
    words = f"{doc.title}\n{doc.summary}\n{doc.body}"
    for chrome in (
        "Skip to main content",
        "Story continues below advertisement",
        "Report an error",
        "temporarily removed commenting",
        "letter to the editor",
        "A French armoured all terrain vehicle",  # the photo caption
    ):
        assert chrome not in words
    assert "Diabaly, a town of 35,000" in doc.body
    assert doc.body.rstrip().endswith("With a report from The Associated Press")
    assert {"Mali", "Bamako", "Canada"} <= set(doc.locations)


def test_bbc_plain_text_title_on_line_one():
    text = "Fast moving phone bugs appear\n\nSecurity firms are warning about viruses.\n\nMore.\n"
    doc = source(text)
    assert doc.title == "Fast moving phone bugs appear"
    assert doc.summary == "Security firms are warning about viruses."
    assert doc.body == "More."


def test_front_matter_source():
    text = (
        "---\ntitle: French troops advance\nurl: https://www.france24.com/en/x\n"
        "date: 2013-01-21\npublisher: France 24\nevent: /news/2013/01/21/x.md\n"
        "tags: [Mali]\nlocations: Gao, Timbuktu\n---\nFrench troops advance on Gao.\n"
    )
    doc = source(text)
    assert doc.title == "French troops advance"
    assert doc.url == "https://www.france24.com/en/x"
    assert doc.publisher == "France 24"
    assert doc.event == "news/2013/01/21/x.md"
    assert doc.date == dt.date(2013, 1, 21)
    assert doc.tags == ["Mali"]
    assert doc.locations[:2] == ["Gao", "Timbuktu"]
    d = doc.to_dict()
    assert d["url"] == doc.url and d["event"] == doc.event


@pytest.mark.parametrize(
    "line",
    [
        "Skip to main content",
        "Story continues below advertisement",
        "ADVERTISEMENT",
        "Report an error",
        "Share this article",
        "As of December 20, 2017, we have temporarily removed commenting from our articles.",
        "A soldier patrols in Gao, Mali, Jan. 19, 2013. Though the army...",
        "Protesters in Cairo (AP Photo/Ben Curtis)",
    ],
)
def test_chrome_lines(line):
    assert is_chrome(line)


@pytest.mark.parametrize(
    "line",
    [
        "The federal government has evacuated most of its staff.",
        "LONDON (Reuters) - Shares rose on Monday.",
        "YouTube said on Tuesday it had removed videos after complaints.",
        "Share prices fell sharply in Tokyo.",
    ],
)
def test_article_lines_are_not_chrome(line):
    assert not is_chrome(line)
