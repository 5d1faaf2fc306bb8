"""The shortcuts of an index run at archive size, on real trees and indexes: folders whose
listing is unchanged are skipped whole (by a digest of names, mtimes and sizes), the
manifest is read and written in shards, and nothing the old per-file comparison saw is
missed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from conftest import SEED_EVENT_ID, config_for, write
from whoosh import index as whoosh_index
from whoosh.query import Term

from searchsvc.content import scan
from searchsvc.index import Report, SearchIndex, run_index
from searchsvc.index.manifest import DIRNAME, LEGACY, SOURCES, Manifest
from searchsvc.index.schema import SCHEMA_VERSION

EVENT = "# {title}\n\n### [2013-01-22](/x)\n\n{body}\n"


def run(root: Path, ix: Path, full: bool = False) -> Report:
    return run_index(config_for(root, ix), full=full, progress=False)


def stored(root: Path, ix: Path, doc_id: str) -> dict | None:
    return SearchIndex(config_for(root, ix)).get(doc_id)


def body_hits(ix: Path, word: str) -> list[str]:
    with whoosh_index.open_dir(str(ix)).searcher() as s:
        return [h["id"] for h in s.search(Term("body", word), limit=None)]


def shard_bytes(ix: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((ix / DIRNAME).glob("shard-*.json"))}


def test_a_file_edited_in_place_in_an_unchanged_folder_is_picked_up(tree, tmp_path):
    ix = tmp_path / "ix"
    path = write(tree, "news/2013/01/22/kabul.md", EVENT.format(title="Kabul", body="Rain."))
    run(tree, ix)
    folder = path.parent
    before = folder.stat()
    # Same size, new content and mtime, written in place; the folder's mtime put back
    # as it was: only the file's own stat says it changed.
    path.write_text(EVENT.format(title="Kabul", body="Snow."), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert folder.stat().st_mtime_ns == before.st_mtime_ns

    r = run(tree, ix)
    assert (r.added, r.updated, r.deleted) == ([], ["news/2013/01/22/kabul.md"], [])
    assert stored(tree, ix, "news/2013/01/22/kabul.md")["body"].endswith("Snow.")
    assert run(tree, ix).nothing_to_do


def test_files_added_deleted_and_moved_and_a_folder_removed(tree, tmp_path):
    ix = tmp_path / "ix"
    for day in ("22", "23"):
        for n in range(3):
            write(tree, f"news/2013/01/{day}/e{n}.md", EVENT.format(title=f"E{day}{n}", body="x"))
    first = run(tree, ix)
    assert len(first.added) == 8

    write(tree, "news/2013/01/22/new.md", EVENT.format(title="Newcomer", body="y"))
    (tree / "news/2013/01/22/e0.md").unlink()
    (tree / "news/2013/01/22/e1.md").rename(tree / "news/2013/01/24-moved.md")
    shutil.rmtree(tree / "news/2013/01/23")
    r = run(tree, ix)
    assert sorted(r.added) == ["news/2013/01/22/new.md", "news/2013/01/24-moved.md"]
    assert sorted(r.deleted) == [
        "news/2013/01/22/e0.md",
        "news/2013/01/22/e1.md",
        *[f"news/2013/01/23/e{n}.md" for n in range(3)],
    ]
    assert r.documents == 8 + 2 - 5
    assert stored(tree, ix, "news/2013/01/23/e2.md") is None
    assert stored(tree, ix, "news/2013/01/24-moved.md")["title"] == "E221"
    # The removed folder is gone from the manifest too: nothing left to compare.
    manifest = Manifest.load(ix, SCHEMA_VERSION)
    assert "news/2013/01/23/" not in manifest.digests
    assert run(tree, ix).nothing_to_do


def test_a_changed_folder_is_compared_file_by_file_and_others_not_read(sample_tree, tmp_path):
    ix = tmp_path / "ix"
    run(sample_tree, ix)
    shards = shard_bytes(ix)
    assert len(shards) > 10  # the sample's folders spread over many shards

    seed = sample_tree / SEED_EVENT_ID
    seed.write_text(seed.read_text(encoding="utf-8") + "\nA zanzibarian note.\n", "utf-8")
    tree = scan(config_for(sample_tree, ix).content)
    manifest = Manifest.load(ix, SCHEMA_VERSION)
    todo, gone = manifest.changes(tree)
    assert [f.id for f in todo] == [SEED_EVENT_ID] and gone == []
    assert len(manifest.shards) == 1  # only the changed folder's shard was read

    r = run(sample_tree, ix)
    assert r.updated == [SEED_EVENT_ID]
    after = shard_bytes(ix)
    assert [name for name in shards if shards[name] != after.get(name)] == [
        f"shard-{manifest.shard_of(SEED_EVENT_ID.rpartition('/')[0] + '/'):02d}.json"
    ]


def test_source_texts_links_survive_runs_that_do_not_touch_them(tree, tmp_path):
    ix = tmp_path / "ix"
    run(tree, ix)
    # A new folder with a source text that names the seed event: its folder moves to the
    # sources' shard, where a later run that changes only the event finds it.
    write(
        tree,
        "sources/notes/by-event.txt",
        f"---\nevent: /{SEED_EVENT_ID}\n---\nA heliograph signal was seen.\n",
    )
    r = run(tree, ix)
    assert sorted(r.added + r.updated) == sorted(["sources/notes/by-event.txt", SEED_EVENT_ID])
    manifest = Manifest.load(ix, SCHEMA_VERSION)
    assert "sources/notes/" in manifest.source_folders
    assert manifest.shard_of("sources/notes/") == SOURCES

    seed = tree / SEED_EVENT_ID
    seed.write_text(seed.read_text(encoding="utf-8") + "\nOne more line.\n", "utf-8")
    r = run(tree, ix)
    assert r.updated == [SEED_EVENT_ID]
    assert SEED_EVENT_ID in body_hits(ix, "heliograph")  # the source's words, indexed

    (tree / "sources/notes/by-event.txt").unlink()
    r = run(tree, ix)
    assert r.deleted == ["sources/notes/by-event.txt"] and r.updated == [SEED_EVENT_ID]
    assert "sources/notes/" not in Manifest.load(ix, SCHEMA_VERSION).source_folders


def test_the_manifest_of_earlier_versions_is_read_once_and_replaced(sample_tree, tmp_path):
    ix = tmp_path / "ix"
    first = run(sample_tree, ix)
    # Write what an earlier version kept: one file of every entry.
    manifest = Manifest.load(ix, SCHEMA_VERSION)
    files = {i: e.to_json() for i, e in manifest.files.items()}
    assert len(files) == len(scan(config_for(sample_tree, ix).content))
    legacy = {"version": 1, "schema": SCHEMA_VERSION, "files": files}
    (ix / LEGACY).write_text(json.dumps(legacy), encoding="utf-8")
    shutil.rmtree(ix / DIRNAME)

    r = run(sample_tree, ix)
    assert r.nothing_to_do and r.unchanged == first.unchanged + len(first.added) + 30
    assert not (ix / LEGACY).exists() and (ix / DIRNAME / "folders.json").exists()
    assert {i: e.to_json() for i, e in Manifest.load(ix, SCHEMA_VERSION).files.items()} == files
    assert run(sample_tree, ix).nothing_to_do
