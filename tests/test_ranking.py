"""Ranking rules a reader notices: title over body, phrases over scattered words, newer
first among equals; AND first, OR when AND finds nothing."""

from __future__ import annotations

import pytest
from conftest import config_for, write

from searchsvc.index import SearchIndex, run_index
from searchsvc.query import Filters, SearchRequest


def page(day: str, title: str, summary: str) -> str:
    y, m, d = day.split("-")
    return f"### [{day}](/news/{y}/{m}/{d}/index.md)\n\n# {title}\n\n{summary}\n"


@pytest.fixture(params=[{}])
def index(tmp_path, request):
    root = tmp_path / "content"
    docs = {
        "news/2012/01/01/in-title.md": page("2012-01-01", "Zebra crossing opens", "A road."),
        "news/2012/01/02/in-summary.md": page("2012-01-02", "Road news", "A zebra crossing."),
        "news/2012/01/03/phrase.md": page(
            "2012-01-03", "Wildlife", "A red panda is born in the city zoo after a long wait."
        ),
        "news/2012/01/04/scattered.md": page("2012-01-04", "Wildlife", "Red kite, giant panda."),
        "news/2010/05/05/older.md": page("2010-05-05", "Quokka census", "Island count."),
        "news/2011/05/05/newer.md": page("2011-05-05", "Quokka census", "Island count."),
        "news/2012/02/02/only-one.md": page("2012-02-02", "Wombat", "Burrows."),
    }
    for rel, text in docs.items():
        write(root, rel, text)
    config = config_for(root, tmp_path / "ix", **request.param)
    run_index(config, progress=False)
    return SearchIndex(config)


def ids(index, q, **kw):
    return [h.id for h in index.search(SearchRequest(q=q, **kw)).hits]


def test_title_match_beats_summary_match(index):
    assert ids(index, "zebra")[:2] == [
        "news/2012/01/01/in-title.md",
        "news/2012/01/02/in-summary.md",
    ]


def test_phrase_beats_scattered_words(index):
    assert ids(index, "red panda")[:2] == [
        "news/2012/01/03/phrase.md",
        "news/2012/01/04/scattered.md",
    ]


def test_newer_first_among_equals(index):
    assert ids(index, "quokka") == ["news/2011/05/05/newer.md", "news/2010/05/05/older.md"]


def test_and_first_then_or_when_and_finds_nothing(index):
    assert ids(index, "wombat panda") != []  # no page has both: OR fallback
    assert ids(index, "red panda") == ["news/2012/01/03/phrase.md", "news/2012/01/04/scattered.md"]


def test_filters_do_not_change_scores(index):
    plain = index.search(SearchRequest(q="zebra")).hits
    filtered = index.search(SearchRequest(q="zebra", filters=Filters(kinds=("event",)))).hits
    assert [(h.id, h.score) for h in plain] == [(h.id, h.score) for h in filtered]


@pytest.mark.parametrize(
    ("index", "test"),
    [
        ({"search.phrase_boost": 0.0}, test_phrase_beats_scattered_words),
        ({"search.title_boost": 1.0}, test_title_match_beats_summary_match),
    ],
    indirect=["index"],
)
def test_these_tests_fail_without_the_rule(index, test):
    with pytest.raises(AssertionError):
        test(index)
