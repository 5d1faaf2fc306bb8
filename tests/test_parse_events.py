"""Event pages, field by field: the seed, and the untidy cases of content-format.md."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import SEED_EVENT_ID, SHARED, SHOW_KEYS, seed_text

from searchsvc.model import DayPage, Document, Skipped
from searchsvc.parsing import parse_bytes, parse_text


def event(text: str, doc_id: str = "news/2013/01/21/x.md") -> Document:
    doc = parse_text(doc_id, text, "event")
    assert isinstance(doc, Document), doc
    return doc


def test_bundled_seed_is_the_shared_seed():
    shared = SHARED / "seeds" / "000_effb24a1013022c0.txt"
    if not shared.exists():
        pytest.skip("../shared is not beside the project")
    assert seed_text("event") == shared.read_text(encoding="utf-8")


def test_seed_event_field_by_field():
    doc = event(seed_text("event"), SEED_EVENT_ID)
    assert doc.id == SEED_EVENT_ID
    assert doc.kind == "event"
    assert doc.date == dt.date(2013, 1, 21)
    assert doc.title == (
        "Northern Mali conflict:French and Malian troops retake Diabaly and Douentza as "
        "Islamist forces retreat."
    )
    assert doc.story == "Northern Mali conflict"
    assert doc.summary == (
        "French and Malian troops seize the key Malian towns of Diabaly and Douentza from "
        "militant Islamists, the French defence minister says."
    )
    assert doc.body == ""
    assert doc.category is None
    assert doc.tags == [
        "Northern Mali conflict",
        "Islamist",
        "Mali",
        "Diabaly",
        "France",
        "Douentza",
    ]
    assert {"Mali", "Douentza", "France"} <= set(doc.locations)
    assert "Islamist" not in doc.locations and "Chad" not in doc.locations
    assert [(s.name, s.url) for s in doc.sources] == [
        ("BBC", "http://www.bbc.co.uk/news/world-africa-21121262"),
        (
            "France 24",
            "http://www.france24.com/en/20130121-french-malian-troops-advance-diabaly-"
            "france-aims-total-reconquest",
        ),
    ]
    assert len(doc.related) == 10
    first = doc.related[0]
    assert first.id == (
        "news/2013/02/22/northern-mali-conflict-p13-chadian-soldiers-and-65-islamist-"
        "insurgents-are-killed-in-heavy-fighting-in-a-remote-part-of-northern-mali.md"
    )
    assert first.title.startswith("Northern Mali conflict:13 Chadian soldiers")
    assert first.context == ("Islamist", "Mali", "Northern Mali conflict")
    assert doc.related[2].id.startswith("news/2012/09/1/")  # unpadded day kept as linked


def test_related_titles_are_not_the_events_words():
    doc = event(seed_text("event"))
    words = f"{doc.title} {doc.summary} {doc.body}"
    assert "Chadian" not in words and "Nampala" not in words


def test_to_dict_has_the_show_keys():
    doc = event(seed_text("event"), SEED_EVENT_ID).to_dict()
    assert list(doc) == SHOW_KEYS
    assert doc["date"] == "2013-01-21"
    assert doc["sources"][1] == {"name": "France 24", "url": doc["sources"][1]["url"]}
    assert doc["related"][0]["context"] == ["Islamist", "Mali", "Northern Mali conflict"]
    assert Document.from_dict(doc).to_dict() == doc


PLAIN = (
    "### [2011-05-02](/news/2011/05/02/index.md)\n\n"
    "# {title} \n\n"  # real titles end with a space
    "{summary}\n\n\n"
    "### Source:\n\n"
    "1. Al Jazeera\n"
    "2. BBC\n"
)


def test_no_space_after_the_story_colon_and_plain_source_names():
    doc = event(
        PLAIN.format(
            title="Libyan Civil War:Forces loyal to Gaddafi attack Misrata.",
            summary="Forces loyal to Gaddafi attack Misrata.",
        )
    )
    assert doc.story == "Libyan Civil War"
    assert [(s.name, s.url) for s in doc.sources] == [("Al Jazeera", None), ("BBC", None)]
    assert doc.related == []
    assert doc.tags == ["Libyan Civil War"]
    assert "Libya" in doc.locations


def test_title_with_several_colons_takes_the_first_as_story():
    doc = event(
        PLAIN.format(
            title="UEFA Euro 2012:Final: Spain beat Italy 4:0 in Kiev.", summary="Spain beat Italy."
        )
    )
    assert doc.story == "UEFA Euro 2012"
    assert doc.title == "UEFA Euro 2012:Final: Spain beat Italy 4:0 in Kiev."


def test_title_repeating_its_story():
    title = "2011 Bahraini uprising: Bahrain arrests two senior members of Al Wefaq."
    doc = event(PLAIN.format(title=title, summary=title))
    assert doc.story == "2011 Bahraini uprising"
    assert doc.summary == title
    assert "Bahrain" in doc.locations


@pytest.mark.parametrize(
    "title",
    [
        "SpaceX launches the first working Dragon spacecraft at 10:30 local time.",
        "The first child dies during the 2011 E. coli O104:H4 outbreak in Germany.",
        "Six more New Orleans police officers are charged with: obstruction of justice.",
        "The Dow Live Earth Run started on April 18th. The host cities are: Paris and Rome.",
        "No colon in this title at all.",
    ],
)
def test_colons_that_name_no_story(title):
    assert event(PLAIN.format(title=title, summary="Text.")).story is None


def test_front_matter_with_a_date_but_no_heading():
    text = (
        "---\ndate: 2012-11-05\ncategory: Disasters\ntags: Hurricane Sandy, New Jersey\n---\n\n"
        "Hurricane Sandy leaves millions without power in New Jersey.\n"
    )
    doc = event(text, "news/2012/11/05/sandy.md")
    assert doc.date == dt.date(2012, 11, 5)
    assert doc.category == "Disasters"
    assert doc.tags == ["Hurricane Sandy", "New Jersey"]
    assert doc.summary == "Hurricane Sandy leaves millions without power in New Jersey."
    assert doc.title.startswith("Hurricane Sandy leaves millions")
    assert "New Jersey" in doc.locations


def test_front_matter_title_and_tag_list():
    text = (
        "---\ntitle: Election day\ndate: 2011-05-02\ntags:\n  - Canada\n  - Elections\n---\n"
        "# Ignored heading\n\nVoters in Canada go to the polls.\n"
    )
    doc = event(text)
    assert doc.title == "Election day"
    assert doc.tags == ["Canada", "Elections"]
    assert "Canada" in doc.locations


def test_date_from_the_path_when_nothing_else_gives_one():
    doc = event("# A title\n\nSome text.\n", "news/2012/09/1/x.md")
    assert doc.date == dt.date(2012, 9, 1)


def test_unicode_and_dashes():
    title = "2011 Tōhoku earthquake and tsunami: aftershocks hit Côte d'Ivoire – no, Japan."
    doc = event(PLAIN.format(title=title, summary="Aftershocks in Tōhoku — Japan."))
    assert doc.title == title
    assert doc.story == "2011 Tōhoku earthquake and tsunami"
    assert "Japan" in doc.locations and "Ivory Coast" in doc.locations


def test_a_400_character_title():
    title = "Reactions: " + "long words repeated " * 20
    doc = event(PLAIN.format(title=title.strip(), summary="x y z."))
    assert len(doc.title) > 390
    assert doc.story == "Reactions"


def test_impossible_dates_are_skipped_with_a_reason():
    for text, where in [
        ("### [2013-02-30](/news/2013/02/30/index.md)\n\n# T\n\nS.\n", "dated heading"),
        ("---\ndate: 2013-13-01\n---\n# T\n", "front matter"),
        ("---\ndate: yesterday\n---\n# T\n", "front matter"),
    ]:
        res = parse_bytes("news/x.md", text.encode(), "event")
        assert isinstance(res, Skipped)
        assert "date" in res.reason and where.split()[0] in res.reason


def test_impossible_date_in_the_path_is_skipped():
    res = parse_bytes("news/2013/02/30/x.md", b"# T\n\nS.\n", "event")
    assert isinstance(res, Skipped) and "impossible date in path" in res.reason


def test_day_pages_are_recognised_not_indexed():
    text = "# 2011-05-02\n\n1. [Some event](/news/2011/05/02/some.md)\n"
    assert parse_text("news/2011/05/02/index.md", text, "day") == DayPage(
        "news/2011/05/02/index.md"
    )


def test_unclassified_files_are_sniffed():
    assert parse_text("misc/a.md", seed_text("event"), "sniff").kind == "event"
    assert parse_text("misc/b.txt", seed_text("source"), "sniff").kind == "source"
