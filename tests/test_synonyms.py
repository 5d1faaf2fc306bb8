"""The synonyms file's forms, as parsed, and the runs of a query they expand (the
searches themselves: tests/test_steering.py, over HTTP)."""

from __future__ import annotations

import pytest

from searchsvc.config import load_config
from searchsvc.index.synonyms import parse

DEFAULT = load_config(path="config.toml", env={}).search.synonyms


def test_groups_one_way_rules_comments_and_normal_forms():
    s = parse(
        "# news\nKyiv, Kiev\nCOVID-19, coronavirus, SARS-CoV-2  # health\n"
        "UK, U.K. -> United Kingdom\nCôte d'Ivoire, Ivory Coast\n"
    )
    assert s.alternatives("kiev") == ("Kyiv",) and s.alternatives("KYIV") == ("Kiev",)
    assert s.alternatives("sars-cov-2") == ("COVID-19", "coronavirus")
    assert s.alternatives("U.K.") == ("United Kingdom",) == s.alternatives("uk")
    assert s.alternatives("United Kingdom") == ()  # one way
    assert s.alternatives("cote d'ivoire") == ("Ivory Coast",)  # accents aside
    assert s.alternatives("  ivory   COAST ") == ("Côte d'Ivoire",)  # spacing aside


def test_a_query_is_cut_into_runs_longest_entry_first():
    s = parse("New York, NYC\nYork, Eboracum\n")
    assert s.spans("flood in new york city".split()) == [
        (["flood"], ()),
        (["in"], ()),
        (["new", "york"], ("NYC",)),
        (["city"], ()),
    ]
    assert s.spans(["York,"]) == [(["York,"], ("Eboracum",))]  # punctuation aside


@pytest.mark.parametrize(
    ("text", "words"),
    [("Kyiv\n", "line 1"), ("a, b\n-> c\n", "line 2"), ("a -> b -> c\n", "line 1")],
)
def test_a_line_that_is_no_group_is_refused_with_its_number(text, words):
    with pytest.raises(ValueError, match=words):
        parse(text)


def test_the_shipped_list_parses_and_knows_the_news_names():
    s = parse(DEFAULT.read_text(encoding="utf-8"))
    assert "Kiev" in s.alternatives("Kyiv") and "Kyiv" in s.alternatives("Kiev")
    assert s.alternatives("UK") == ("United Kingdom",)
    assert "Czechia" in s.alternatives("Czech Republic")
    assert s.alternatives("who") == () and s.alternatives("gaza") == ()
