"""`searchsvc index / search / show`, run as a user runs them, on real trees and indexes."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from conftest import SEED_EVENT_ID, SEED_SOURCE_ID, SHOW_KEYS, search_ids, show_json, write
from filelock import FileLock


def index(cli, root: Path, ix: Path, *extra: str, env: dict[str, str] | None = None):
    return cli("index", "--content", str(root), "--index", str(ix), "--json", *extra, env=env)


def report(proc) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_seed_show_and_search(cli, tree, tmp_path):
    ix = tmp_path / "ix"
    r = report(index(cli, tree, ix))
    assert (r["added"], r["skipped"], r["documents"]) == (2, [], 2)

    doc = show_json(cli, ix, SEED_EVENT_ID)
    assert doc["date"] == "2013-01-21"
    assert doc["story"] == "Northern Mali conflict"
    assert {"Islamist", "Mali", "Northern Mali conflict", "Diabaly", "France", "Douentza"} <= set(
        doc["tags"]
    )
    assert {"Mali", "Douentza"} <= set(doc["locations"])
    assert doc["sources"][0] == {
        "name": "BBC",
        "url": "http://www.bbc.co.uk/news/world-africa-21121262",
    }
    assert doc["sources"][1]["name"] == "France 24"
    assert len(doc["related"]) == 10
    assert list(doc)[: len(SHOW_KEYS)] == SHOW_KEYS

    assert search_ids(cli, ix, "Douentza")[0] == SEED_EVENT_ID
    assert SEED_EVENT_ID not in search_ids(cli, ix, "Chadian soldiers")

    src = show_json(cli, ix, SEED_SOURCE_ID)
    assert src["title"] != "Skip to main content"
    assert search_ids(cli, ix, '"Skip to main content"') == []
    assert search_ids(cli, ix, "advertisement") == []
    assert search_ids(cli, ix, '"Report an error"') == []
    assert search_ids(cli, ix, "Canadians embassy") == [SEED_SOURCE_ID]

    text = cli("show", SEED_EVENT_ID, "--index", str(ix), check=True).stdout
    assert "story:     Northern Mali conflict" in text
    missing = cli("show", "news/nope.md", "--index", str(ix))
    assert missing.returncode == 1 and "no document" in missing.stderr


def test_search_command_text_output_and_filters(cli, tree, tmp_path):
    ix = tmp_path / "ix"
    report(index(cli, tree, ix))
    out = cli("search", "Douentza", "--index", str(ix), check=True).stdout
    assert "1 hits" in out and "2013-01-21" in out and SEED_EVENT_ID in out
    out = cli("search", "Douentzaa", "--index", str(ix), check=True).stdout
    assert "also searched as 'Douentza'" in out and SEED_EVENT_ID in out
    assert search_ids(cli, ix, "Douentzaa", "--spell", "off") == []
    assert search_ids(cli, ix, "Mali", "--collapse", "story", "--recency", "30")
    assert search_ids(cli, ix, "Mali", "--kind", "source") == [SEED_SOURCE_ID]
    assert search_ids(cli, ix, "Mali", "--from", "2013", "--to", "2013-01") == [SEED_EVENT_ID]
    bad = cli("search", '"unbalanced', "--index", str(ix))
    assert bad.returncode == 2 and "unbalanced quote" in bad.stderr


def test_bad_files_are_skipped_with_a_reason(cli, tree, tmp_path):
    bad = {
        "news/2013/01/22/binary.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "news/2013/01/22/latin1.md": "# Caf\xe9 in Paris\n".encode("latin-1"),
        "news/2013/01/22/broken.md": b"---\ntitle: [unclosed\n---\n# T\n",
        "news/2013/01/22/empty.md": b"",
        "news/2013/02/30/impossible.md": b"### [2013-02-30](/x)\n\n# T\n\nS.\n",
    }
    for rel, data in bad.items():
        write(tree, rel, data)
    os.symlink(tree / "nowhere.md", tree / "news/2013/01/22/dangling.md")
    outside = tmp_path / "secret.txt"
    outside.write_text("secret words outside the root", encoding="utf-8")
    os.symlink(outside, tree / "sources/outside.txt")
    write(tree, "news/2013/01/22/fine.md", "# A fine event in Kabul\n\nAll good.\n")

    ix = tmp_path / "ix"
    proc = index(cli, tree, ix)
    r = report(proc)  # exit 0: bad files do not fail the run
    reasons = {s["id"]: s["reason"] for s in r["skipped"]}
    assert "binary" in reasons["news/2013/01/22/binary.md"]
    assert "not UTF-8" in reasons["news/2013/01/22/latin1.md"]
    assert "broken front matter" in reasons["news/2013/01/22/broken.md"]
    assert "empty" in reasons["news/2013/01/22/empty.md"]
    assert "impossible date" in reasons["news/2013/02/30/impossible.md"]
    assert "dangling" in reasons["news/2013/01/22/dangling.md"]
    assert "outside the content root" in reasons["sources/outside.txt"]
    assert r["added"] == 3  # the two seeds and the fine one
    assert search_ids(cli, ix, "Kabul") == ["news/2013/01/22/fine.md"]
    assert search_ids(cli, ix, "secret") == []

    text = cli("index", "--content", str(tree), "--index", str(ix), check=True)
    assert "nothing to do" in text.stdout  # skipped files are remembered, not re-read


def test_a_file_turning_bad_keeps_its_indexed_version(cli, tree, tmp_path):
    ix = tmp_path / "ix"
    path = write(tree, "news/2013/01/22/ok.md", "# Floods in Dhaka\n\nRain.\n")
    report(index(cli, tree, ix))
    path.write_bytes(b"---\ntitle: [broken\n---\n")
    r = report(index(cli, tree, ix))
    assert r["kept"] == ["news/2013/01/22/ok.md"]
    assert search_ids(cli, ix, "Dhaka") == ["news/2013/01/22/ok.md"]
    r = report(index(cli, tree, ix, "--full"))
    assert r["kept"] == ["news/2013/01/22/ok.md"]
    assert search_ids(cli, ix, "Dhaka") == ["news/2013/01/22/ok.md"]


def test_incremental_runs(cli, sample_tree, tmp_path):
    ix = tmp_path / "ix"
    first = report(index(cli, sample_tree, ix))
    assert first["added"] > 400 and first["day_pages"] == 30
    again = report(index(cli, sample_tree, ix))
    assert (again["added"], again["updated"], again["deleted"], again["skipped"]) == (0, 0, 0, [])
    assert again["unchanged"] == first["added"] + first["day_pages"] + len(first["skipped"])
    assert (
        "nothing to do"
        in cli("index", "--content", str(sample_tree), "--index", str(ix), check=True).stdout
    )

    seed = sample_tree / SEED_EVENT_ID
    seed.write_text(seed.read_text().replace("defence minister", "zanzibarian minister"))
    edited = report(index(cli, sample_tree, ix))
    assert (edited["added"], edited["updated"], edited["deleted"]) == (0, 1, 0)
    assert search_ids(cli, ix, "zanzibarian") == [SEED_EVENT_ID]
    assert edited["documents"] == first["documents"]

    victim = "news/2012/11/05/index.md"
    gone = next(p for p in (sample_tree / "news/2012/11/05").glob("*.md") if p.name != "index.md")
    gone_id = str(gone.relative_to(sample_tree))
    word = json.loads(cli("show", gone_id, "--json", "--index", str(ix), check=True).stdout)
    gone.unlink()
    (sample_tree / victim).unlink()
    deleted = report(index(cli, sample_tree, ix))
    assert deleted["deleted"] == 1  # the day page was never a document
    assert deleted["documents"] == first["documents"] - 1
    assert gone_id not in search_ids(cli, ix, f'"{word["title"][:40]}"')
    assert cli("show", gone_id, "--index", str(ix)).returncode == 1


def test_linked_source_makes_the_event_findable_by_its_words(cli, tree, tmp_path):
    ix = tmp_path / "ix"
    write(
        tree,
        "sources/f24/advance.md",
        "---\ntitle: Troops advance\nurl: https://www.france24.com/en/20130121-french-"
        "malian-troops-advance-diabaly-france-aims-total-reconquest/\n---\n"
        "The quartermaster spoke of logistics near Sévaré.\n",
    )
    write(
        tree,
        "sources/notes/by-event.txt",
        f"---\nevent: /{SEED_EVENT_ID}\n---\nA heliograph signal was seen.\n",
    )
    report(index(cli, tree, ix))
    assert SEED_EVENT_ID in search_ids(cli, ix, "quartermaster")  # by URL (www., slash)
    assert SEED_EVENT_ID in search_ids(cli, ix, "heliograph")  # by front matter `event`

    write(
        tree,
        "sources/notes/by-event.txt",
        f"---\nevent: /{SEED_EVENT_ID}\n---\nA semaphore signal was seen.\n",
    )
    r = report(index(cli, tree, ix))
    assert r["updated"] == 2  # the source text, and the event it belongs to
    assert SEED_EVENT_ID in search_ids(cli, ix, "semaphore")
    assert SEED_EVENT_ID not in search_ids(cli, ix, "heliograph")
    (tree / "sources/f24/advance.md").unlink()
    report(index(cli, tree, ix))
    assert search_ids(cli, ix, "quartermaster") == []


def test_a_second_run_waits_or_says_busy(cli, tree, tmp_path):
    ix = tmp_path / "ix"
    report(index(cli, tree, ix))
    lock = FileLock(str(ix / "searchsvc.lock"))
    with lock:
        t0 = time.monotonic()
        busy = index(cli, tree, ix, env={"SEARCHSVC_INDEX_LOCK_TIMEOUT": "1"})
        assert busy.returncode == 75
        assert "busy" in busy.stderr
        assert time.monotonic() - t0 >= 1
    assert (
        "nothing to do"
        in cli("index", "--content", str(tree), "--index", str(ix), check=True).stdout
    )


def test_unwritable_index_exits_non_zero(cli, tree, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = index(cli, tree, blocker / "ix")
    assert proc.returncode == 73 and "cannot" in proc.stderr


def test_missing_content_root_loses_nothing(cli, tree, tmp_path):
    ix = tmp_path / "ix"
    report(index(cli, tree, ix))
    moved = tmp_path / "moved"
    shutil.move(tree, moved)
    proc = index(cli, tree, ix)
    assert proc.returncode == 2 and "content root" in proc.stderr
    assert search_ids(cli, ix, "Douentza") == [SEED_EVENT_ID]
