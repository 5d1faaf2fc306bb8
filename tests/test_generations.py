"""A web worker's caches under a stream of commits (live edits make a generation every
second or two): what it keeps of a segment (postings) answers as a fresh read does after
documents of that segment were replaced, and a generation a request still reads keeps
its tables while newer ones are prepared (they were dropped and built again at each call)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import SEED_EVENT_ID, config_for, write

from searchsvc.index import SearchIndex, run_index
from searchsvc.index.schema import stored_dict
from searchsvc.index.tables import TableCache

EVENT = "### [2013-03-01](/news/2013/03/01/index.md)\n\n# {title}\n\n{body}\n"


def test_segment_caches_follow_replaced_documents(sample_tree: Path, tmp_path):
    config = config_for(sample_tree, tmp_path / "ix")
    run_index(config, progress=False)
    index = SearchIndex(config)
    ix = index._index()
    with ix.searcher() as old:
        assert SEED_EVENT_ID in {
            stored_dict(old.stored_fields(int(d)))["id"]
            for d in index.tables.get(old).term(old, "title", "douentza")
        }
    # The seed rewritten without the word, and a new page with it: the seed's old version
    # is deleted from the segment whose postings this worker keeps.
    seed = sample_tree / SEED_EVENT_ID
    seed.write_text(seed.read_text(encoding="utf-8").replace("Douentza", "Duentsa"))
    write(sample_tree, "news/2013/03/01/d.md", EVENT.format(title="Douentza", body="D."))
    run_index(config, progress=False)
    with ix.searcher() as new:
        kept = index.tables.get(new).term(new, "title", "douentza")
        fresh = TableCache().get(new).term(new, "title", "douentza")
        assert np.array_equal(kept, fresh)
        found = {stored_dict(new.stored_fields(int(d)))["id"] for d in kept}
    assert SEED_EVENT_ID not in found and "news/2013/03/01/d.md" in found


def test_a_generation_still_read_keeps_its_tables_while_newer_ones_are_prepared(
    sample_tree: Path, tmp_path
):
    config = config_for(sample_tree, tmp_path / "ix")
    run_index(config, progress=False)
    index = SearchIndex(config)
    ix = index._index()
    with ix.searcher() as reading:  # a request thread's searcher, not moved on yet
        tables = index.tables.get(reading)
        for n in range(2):  # two commits, each prepared (as the preparing thread does)
            write(sample_tree, f"news/2013/03/01/g{n}.md", EVENT.format(title="G", body="G."))
            run_index(config, progress=False)
            with ix.searcher() as newer:
                assert index.tables.get(newer) is not tables
        # The request's next calls find the tables it had: none built again.
        assert index.tables.get(reading) is tables
