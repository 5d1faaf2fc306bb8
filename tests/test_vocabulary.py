"""The vocabulary of completions and corrections: counted by the index run and saved beside
each segment, caught up by the web workers when documents are deleted, and always equal to
a count made from the stored documents."""

from __future__ import annotations

from pathlib import Path

from conftest import SEED_EVENT_ID, config_for, eventually, write

from searchsvc.index import SearchIndex, run_index
from searchsvc.index.vocabulary import Vocabulary, VocabularyCache, count_segment
from searchsvc.query import request_from_params

EVENT = """\
---
date: 2013-02-02
title: Quixotrelle harbour reopens to fishing boats
tags: [Mali]
---
The harbour reopens.
"""


def counted_from_stored(index: SearchIndex) -> Vocabulary:
    with index._index().searcher() as s:
        return Vocabulary([count_segment(r).counts for r, _ in s.reader().leaf_readers()])


def from_saved_counts(index: SearchIndex) -> Vocabulary:
    with index._index().searcher() as s:
        return VocabularyCache(index.index_dir).get(s)


def same(a: Vocabulary, b: Vocabulary) -> bool:
    return a.words == b.words and sorted(a.entries) == sorted(b.entries)


def test_saved_beside_each_segment_and_caught_up_after_deletions(sample_tree: Path, tmp_path):
    config = config_for(sample_tree, tmp_path / "ix")
    write(sample_tree, "news/2013/02/02/quixotrelle.md", EVENT)
    run_index(config, progress=False)
    index = SearchIndex(config)
    with index._index().searcher() as s:
        segments = [r.segment().segment_id() for r, _ in s.reader().leaf_readers()]
    saved = sorted(p.stem for p in config.index.dir.glob("*.vocab"))
    assert saved == sorted(segments)
    served = index.suggest("quixot", 5)  # this worker's vocabulary, kept in memory
    assert [h["text"] for h in served] == ["Quixotrelle"]
    assert same(from_saved_counts(index), counted_from_stored(index))

    # Delete the new event and change the seed: both take documents out of a segment
    # whose counts were saved before.
    (sample_tree / "news/2013/02/02/quixotrelle.md").unlink()
    seed = sample_tree / SEED_EVENT_ID
    seed.write_text(seed.read_text(encoding="utf-8").replace("Douentza", "Duentsa", 1))
    run_index(config, progress=False)
    fresh = from_saved_counts(index)  # a new worker: saved counts, then caught up
    assert fresh.suggest("quixot") == []
    assert same(fresh, counted_from_stored(index))
    # A running worker moves on to the new generation, and its vocabulary with it.
    eventually(lambda: index.suggest("quixot", 5) == [], 10)


def test_gone_with_their_segments(sample_tree: Path, tmp_path):
    config = config_for(sample_tree, tmp_path / "ix")
    run_index(config, progress=False)
    before = {p.name for p in config.index.dir.glob("*.vocab")}
    run_index(config, full=True, progress=False)
    after = {p.name for p in config.index.dir.glob("*.vocab")}
    assert after and not before & after  # Whoosh deleted them with the old segments
    assert same(from_saved_counts(SearchIndex(config)), counted_from_stored(SearchIndex(config)))


LABELS = ("Quixo Harbour", "Zembla Bay", "Vorn Pass")


def tagged(n: int) -> str:
    # Document n writes the n-th label in lowercase, the others capitalised: whichever
    # document the index meets first writes one of the labels as the others do not.
    tags = ", ".join(t.lower() if i == n else t for i, t in enumerate(LABELS))
    head = f"date: 2013-02-0{n + 1}\ntitle: Quixotrelle harbour news\ntags: [{tags}]"
    return f"---\n{head}\n---\nNews.\n"


def test_one_facet_value_per_label_whatever_its_case(sample_tree: Path, tmp_path):
    config = config_for(sample_tree, tmp_path / "ix")
    for n in range(3):
        write(sample_tree, f"news/2013/02/0{n + 1}/quixo-{n}.md", tagged(n))
    run_index(config, progress=False)
    index = SearchIndex(config)
    result = index.search(request_from_params({"q": ["Quixotrelle"]}, config.search))
    # Each label once, counted over the three documents, as most of them write it.
    assert result.facets["tags"] == [{"value": t, "count": 3} for t in sorted(LABELS)]
    # Either spelling filters the same three documents.
    for spelling in ("quixo harbour", "QUIXO HARBOUR"):
        req = request_from_params({"tag": [spelling]}, config.search)
        assert index.search(req).total == 3
