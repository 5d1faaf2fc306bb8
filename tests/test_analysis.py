"""The fused analyzer gives exactly the tokens of Whoosh's own chain."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.analysis import (
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.support.charset import accent_map

from searchsvc.index.analysis import NewsAnalyzer, terms

CHAIN = (
    RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter() | StemFilter()
)

TEXTS = [
    "Northern Mali conflict:French and Malian troops retake Diabaly and Douentza.",
    "Tōhoku earthquake; Côte d'Ivoire votes — a 2011 O104:H4 outbreak, U.S. stocks fall 3.5%.",
    "The the THE a I x y is was running runners ran",
    "",
    "   ",
    "São Paulo's mayor, 10:30 a.m., e-mail, naïve café",
]


def tokens(analyzer, text, **kw):
    return [
        (
            t.text,
            t.pos if kw.get("positions") else None,
            t.startchar if kw.get("chars") else None,
            t.endchar if kw.get("chars") else None,
            t.stopped,
        )
        for t in analyzer(text, **kw)
    ]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"positions": True},
        {"positions": True, "chars": True},
        {"chars": True, "removestops": False, "mode": "query"},
        {"positions": True, "removestops": False},
        {"tokenize": False},
        {"positions": True, "start_pos": 5, "chars": True, "start_char": 10},
    ],
)
def test_same_tokens_as_the_whoosh_chain(text, kw):
    assert tokens(NewsAnalyzer(), text, **kw) == tokens(CHAIN, text, **kw)


@pytest.mark.parametrize("text", TEXTS)
def test_fast_postings_equal_whoosh_postings(text):
    from whoosh.formats import Positions

    from searchsvc.index.analysis import FastPositions

    fast, slow = FastPositions(), Positions()
    mine = sorted(fast.word_values(text, NewsAnalyzer(), mode="index"))
    theirs = sorted(slow.word_values(text, CHAIN, mode="index"))
    assert [(w, n, wt) for w, n, wt, _ in mine] == [(w, n, wt) for w, n, wt, _ in theirs]
    for (_, _, _, a), (_, _, _, b) in zip(mine, theirs, strict=True):
        assert fast.decode_positions(a) == slow.decode_positions(b)


# Words of any script, case and accent, between spaces and punctuation: `fold` skips
# `translate` for ASCII words, which must change nothing.
_TEXT = st.text(
    st.sampled_from("aAbBsSiInNpPhHtTwWyYzZ0159_ -.,:'éÉøØßŒœıİΣσςΤōŌçÇñÑ日本語"),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(_TEXT, st.booleans())
def test_any_text_has_the_tokens_of_the_whoosh_chain(text, positions):
    kw = {"positions": positions, "chars": True}
    assert tokens(NewsAnalyzer(), text, **kw) == tokens(CHAIN, text, **kw)
    assert list(terms(NewsAnalyzer(), text)) == [t.text for t in CHAIN(text)]
