"""Queries of terms are scored in arrays (searchsvc/index/scoring.py); the scores must be
those of Whoosh's own matchers and collector, document for document."""

from __future__ import annotations

import re

import pytest
from conftest import config_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh.collectors import UnlimitedCollector

from searchsvc.index import SearchIndex
from searchsvc.index.matching import evaluate
from searchsvc.index.scoring import top


@pytest.fixture(scope="module")
def index(sample_index):
    si = SearchIndex(config_for(sample_index / "content", sample_index / "ix"))
    searcher = si.searcher()
    words = sorted(
        {
            w
            for f in searcher.all_stored_fields()
            for w in re.findall(r"[A-Za-z]{3,}", f["hit"][:400])
        }
    )
    pairs = sorted(
        {
            " ".join(found[i : i + 2])
            for f in searcher.all_stored_fields()
            for found in [re.findall(r"[A-Za-z]{3,}", f["hit"][:300])]
            for i in range(0, len(found) - 1, 5)
        }
    )
    return si, words[::7], pairs[::5]


def whoosh_scores(searcher, q) -> dict[int, float]:
    collector = UnlimitedCollector()
    searcher.search_with_collector(q, collector)
    return {hit.docnum: round(hit.score, 6) for hit in collector.results()}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_term_queries_score_as_whoosh_scores_them(index, data):
    si, words, pairs = index
    word = st.sampled_from(words)
    label = st.sampled_from(["tags:mali", "tags:france", "kind:event", "kind:source"])
    phrase = st.sampled_from(pairs).map(lambda p: f'"{p}"')
    leaf = st.one_of(word, word, label, phrase)
    # No negation and no ANDMAYBE: Whoosh's AndNotMatcher lets some excluded documents
    # through ("AFC ANDNOT kind:event" finds an event), and its AndMaybeMatcher does not
    # always add its optional part ("Movement ANDMAYBE kind:event kind:event" scores an
    # event 1 less than its terms add up to). Which documents a negation leaves is the
    # oracle's to say (tests/test_exact.py); scoring.py adds what matches, as documented.
    op = st.sampled_from([" ", " OR ", " AND "])
    parts = data.draw(st.lists(st.tuples(op, leaf), min_size=1, max_size=4))
    text = "".join(f"{o}{w}" for o, w in parts).split(None, 1)[-1]
    text = re.sub(r"^(OR|AND) ", "", text)
    try:
        q = si.compile(text)
    except Exception:
        return
    searcher = si.searcher()
    tables = si.tables.get(searcher)
    scored = evaluate(searcher, tables, q)
    assert scored.exact, q
    expected = whoosh_scores(searcher, q)
    got = {d: s for s, d in top(scored, scored.mask(tables.size), tables.size)}
    assert got.keys() == expected.keys(), text
    for d, s in got.items():
        assert s == pytest.approx(expected[d], abs=2e-6), (text, d)


def test_top_breaks_ties_by_document_number(index):
    import numpy as np

    from searchsvc.index.scoring import Scored

    scored = Scored(np.arange(5), np.array([1.0, 2.0, 2.0, 0.5, 2.0]))
    candidates = np.array([True, True, False, True, True])
    assert top(scored, candidates, 2) == [(2.0, 1), (2.0, 4)]
    assert top(scored, candidates, 10) == [(2.0, 1), (2.0, 4), (1.0, 0), (0.5, 3)]
