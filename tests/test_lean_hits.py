"""Lean hits: a page of hits decodes what a hit shows (index/schema.py `stored_hit`), not
the whole stored document; `GET /events/<id>` still returns the whole of it."""

from __future__ import annotations

from pathlib import Path

from conftest import SEED_EVENT_ID, SEED_SOURCE_ID, config_for, write

from searchsvc.index import SearchIndex, run_index
from searchsvc.index.schema import HIT_KEYS, SNIPPET_SCAN_CHARS, stored_hit
from searchsvc.parsing import parse_file
from searchsvc.web import create_app

LONG = "sources/lean/aardvarkish-herds.txt"


def long_text() -> str:
    """A source text whose body is longer than the start a hit decodes."""
    filler = " ".join(f"filler{n % 50}" for n in range(1200))  # ~ 10,000 characters
    return (
        "Aardvarkish herds cross the border\n\n"
        "The herds crossed at dawn.\n\n"
        f"They went on. {filler} Zebrulous tail end.\n"
    )


def test_a_hit_decodes_the_start_and_a_document_is_whole(tree: Path, tmp_path: Path):
    write(tree, LONG, long_text())
    config = config_for(tree, tmp_path / "ix")
    run_index(config, progress=False)
    client = create_app(config).test_client()

    for doc_id, role in ((LONG, "source"), (SEED_EVENT_ID, "event"), (SEED_SOURCE_ID, "source")):
        parsed = parse_file(tree / doc_id, tree, doc_id, role).to_dict()
        served = client.get(f"/events/{doc_id}").get_json()
        assert served == parsed and list(served) == list(parsed)  # the same order

    stored = SearchIndex(config).searcher().document(id=LONG)
    lean = stored_hit(stored)
    assert set(lean) == {*HIT_KEYS, "body"}  # no sources, Related list or category
    assert len(lean["body"]) == SNIPPET_SCAN_CHARS

    hits = client.get("/search?q=aardvarkish").get_json()["hits"]
    assert [h["id"] for h in hits] == [LONG]
    assert "<mark>Aardvarkish</mark>" in hits[0]["snippet"]
    # A word past the start of the body is found; its snippet is the lead of the body.
    hits = client.get("/search?q=zebrulous").get_json()["hits"]
    assert [h["id"] for h in hits] == [LONG]
    assert hits[0]["snippet"] == "The herds crossed at dawn."
