"""A query host serves a copy of an indexing host's index (`searchsvc serve --follow`):
each new generation copied whole with rsync, checked, and switched to; the last good one
served when the source is away or a copy is damaged; taken out of rotation (/health 503)
when it falls behind."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import requests
from conftest import SEED_EVENT_ID, Server, config_for, eventually, write

from searchsvc.index import IndexUnavailable, SearchIndex, run_index
from searchsvc.index.follow import _segments, follow_once, local_generations, read_state
from searchsvc.query import SearchRequest
from searchsvc.web import create_app

pytestmark = pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync not installed")

NEW_EVENT = """---
date: 2013-01-25
title: Zanzibar ferry regatta draws record crowd
tags: [Zanzibar]
---
A regatta of ferries off Zanzibar drew a record crowd.
"""


def ids(index_dir: Path, tree: Path, q: str, **flags: object) -> list[str]:
    index = SearchIndex(config_for(tree, index_dir, **flags))
    return [h.id for h in index.search(SearchRequest(q=q)).hits]


def damage(source: Path, copy: Path) -> Path:
    """Flip bytes in the middle of a segment file that the source's newest generation
    adds to what the copy holds (same size)."""
    held = {p.stem for p in copy.glob("*.seg")}
    new = set(_segments(source, local_generations(source)[-1])) - held
    path = source / f"{sorted(new)[0]}.seg"
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 8] = bytes(b ^ 0xFF for b in data[mid : mid + 8])
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def hosts(tree: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """An indexing host's index of the tree (a) and an empty query host's folder (b)."""
    a, b = tmp_path / "a", tmp_path / "b"
    run_index(config_for(tree, a), progress=False)
    return tree, a, b


def test_a_query_host_serves_each_new_generation_whole(hosts):
    tree, a, b = hosts
    assert follow_once(str(a), b).error is None
    assert ids(b, tree, "Douentza")[0] == SEED_EVENT_ID
    for n in range(3):  # three more generations: only the last two are kept
        write(tree, f"news/2013/01/25/zanzibar-{n}.md", NEW_EVENT)
        run_index(config_for(tree, a), progress=False)
        st = follow_once(str(a), b)
        assert st.error is None and st.generation == st.source_generation
    assert "news/2013/01/25/zanzibar-2.md" in ids(b, tree, "Zanzibar regatta")
    newest = local_generations(a)[-1]
    assert local_generations(b) == [newest - 1, newest]  # the one before kept for its readers
    named = {s for gen in (newest - 1, newest) for s in _segments(b, gen)}
    assert {p.stem for p in b.iterdir() if p.suffix in (".seg", ".vocab")} <= named
    assert {p.stem for p in b.iterdir() if p.suffix == ".seg"} == named
    assert not (b / "searchsvc-follow").exists()  # the staging folder is gone


def test_a_damaged_copy_is_never_switched_to(hosts):
    tree, a, b = hosts
    follow_once(str(a), b)
    before = local_generations(b)
    write(tree, "news/2013/01/25/zanzibar.md", NEW_EVENT)
    run_index(config_for(tree, a), progress=False)
    damage(a, b)

    st = follow_once(str(a), b)
    assert "checksum" in st.error and st.failures == 1
    assert local_generations(b) == before  # no table of contents for the damaged one
    assert ids(b, tree, "Douentza")[0] == SEED_EVENT_ID  # the last good one answers
    assert "news/2013/01/25/zanzibar.md" not in ids(b, tree, "Zanzibar")


def test_a_copy_that_cannot_be_written_leaves_the_last_good_generation(hosts):
    """This host's disk refuses the copy half-way (here: the checksums file cannot be
    replaced): the error is recorded, no table of contents is installed, the old
    generation answers, and the next look copies once the disk is writable again."""
    tree, a, b = hosts
    follow_once(str(a), b)
    before = local_generations(b)
    write(tree, "news/2013/01/25/zanzibar.md", NEW_EVENT)
    run_index(config_for(tree, a), progress=False)
    (b / "searchsvc-checksums.json").unlink()
    (b / "searchsvc-checksums.json").mkdir()  # a write onto it fails (IsADirectoryError)

    st = follow_once(str(a), b)
    assert st.error and st.failures == 1
    assert local_generations(b) == before
    assert ids(b, tree, "Douentza")[0] == SEED_EVENT_ID
    (b / "searchsvc-checksums.json").rmdir()
    assert follow_once(str(a), b).error is None
    assert "news/2013/01/25/zanzibar.md" in ids(b, tree, "Zanzibar")


def test_a_source_away_leaves_the_host_serving_and_in_rotation(hosts):
    tree, a, b = hosts
    follow_once(str(a), b)
    shutil.rmtree(a)
    st = follow_once(str(a), b)
    assert st.error and "rsync" in st.error
    config = config_for(tree, b, **{"follow.source": str(a)})
    assert SearchIndex(config).health()["status"] == "ok"
    assert create_app(config).test_client().get("/readyz").status_code == 200
    assert ids(b, tree, "Douentza")[0] == SEED_EVENT_ID


def test_a_host_that_falls_behind_is_taken_out_of_rotation(hosts):
    tree, a, b = hosts
    follow_once(str(a), b)
    flags = {"follow.source": str(a), "follow.max_behind": 0}
    assert SearchIndex(config_for(tree, b, **flags)).health()["status"] == "ok"
    write(tree, "news/2013/01/25/zanzibar.md", NEW_EVENT)
    run_index(config_for(tree, a), progress=False)
    damage(a, b)
    follow_once(str(a), b)
    with pytest.raises(IndexUnavailable, match=r"1 generations behind .*checksum"):
        SearchIndex(config_for(tree, b, **flags)).health()
    ready = create_app(config_for(tree, b, **flags)).test_client().get("/readyz")
    assert ready.status_code == 503 and "behind" in ready.get_json()["error"]["message"]


def test_a_copy_that_hangs_is_cut_at_its_time_limit(hosts, tmp_path):
    """rsync stuck on a dead link: the copy gives up after follow.timeout, the host as it was."""
    tree, a, b = hosts
    follow_once(str(a), b)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hung = bin_dir / "rsync"
    hung.write_text("#!/bin/sh\nexec sleep 30\n")
    hung.chmod(0o755)
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{bin_dir}:{path}"
    try:
        st = follow_once(str(a), b, timeout=1)
    finally:
        os.environ["PATH"] = path
    assert "took more than 1 s" in st.error
    assert ids(b, tree, "Douentza")[0] == SEED_EVENT_ID


def test_serve_follow_copies_new_content_as_it_is_indexed(hosts):
    """`searchsvc serve --follow`: a real server whose index is a copy; a document indexed
    on the indexing host is found on the query host, and /stats says whom it follows."""
    tree, a, b = hosts
    server = Server(tree, b, "--follow", str(a)).wait_ready()
    try:
        found = requests.get(server.url + "/search", params={"q": "Douentza"}, timeout=10)
        assert found.json()["hits"][0]["id"] == SEED_EVENT_ID
        write(tree, "news/2013/01/25/zanzibar.md", NEW_EVENT)
        run_index(config_for(tree, a), progress=False)

        def found_new() -> bool:
            r = requests.get(server.url + "/search", params={"q": "Zanzibar"}, timeout=10)
            return "news/2013/01/25/zanzibar.md" in [h["id"] for h in r.json()["hits"]]

        eventually(found_new, timeout=60)
        stats = requests.get(server.url + "/stats", timeout=10).json()
        assert stats["follow"]["source"] == str(a) and stats["follow"]["error"] is None
        assert read_state(b).generation == local_generations(a)[-1]
    finally:
        server.stop()
