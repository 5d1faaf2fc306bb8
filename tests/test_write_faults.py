"""A full disk or an I/O error fails one index run, never the index: the SQLite way (fail
the Nth write, fsync or rename of a run, for N = 1, 2, 3, ... until the run gets through),
and on a real full filesystem."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import SEED_EVENT_ID, SEED_SOURCE_ID, clean_env, config_for, small_disk, write
from whoosh import index as whoosh_index

from searchsvc.config import SAMPLE_CONTENT
from searchsvc.index import SearchIndex, index_problem, run_index
from searchsvc.query import request_from_params

FAULTY = Path(__file__).parent / "faulty_index.py"
QUERIES = ["Mali", "Douentza", "troops", "embassy", "quokkarific", ""]
SIDE_FILES = {
    "MAIN_WRITELOCK",
    "searchsvc-checksums.json",
    "searchsvc-manifest",  # a folder: its own temporary files are looked for below
    "searchsvc-state.json",
    "searchsvc-state.lock",
    "searchsvc.lock",
}


def answers(root: Path, ix: Path) -> dict[str, Any]:
    """What a reader gets from the index: each query's total and hits (as a set: an
    incremental index and a fresh build may order equal scores differently), and every
    stored document."""
    config = config_for(root, ix)
    search = SearchIndex(config)
    out: dict[str, Any] = {}
    for q in QUERIES:
        params = {"q": [q], "per_page": ["100"], "sort": ["relevance" if q else "-date"]}
        result = search.search(request_from_params(params, config.search))
        out[q] = (result.total, sorted(h.id for h in result.hits))
    every = out[""][1]
    out["documents"] = {i: search.get(i) for i in every}
    return out


def stray_files(ix: Path) -> list[str]:
    """Files in the index folder that the committed generation does not name."""
    segments = {seg.segment_id() for seg in whoosh_index.open_dir(str(ix))._segments()}
    toc = f"_MAIN_{whoosh_index.open_dir(str(ix)).latest_generation()}.toc"
    stray = []
    for p in ix.iterdir():
        m = re.match(r"^(MAIN_[0-9a-z]+)\.(seg|vocab)$", p.name)
        if p.name not in SIDE_FILES | {toc} and not (m and m[1] in segments):
            stray.append(p.name)
    manifest = ix / "searchsvc-manifest"
    if manifest.is_dir():
        stray += [f"{manifest.name}/{p.name}" for p in manifest.iterdir() if p.name.startswith(".")]
    return stray


def small_tree(root: Path) -> Path:
    """The seeds and a few dozen pages of the sample around them: runs of a fraction of a
    second, so that a run can be failed at each of its I/O operations in turn."""
    for rel in [SEED_EVENT_ID, SEED_SOURCE_ID]:
        write(root, rel, (SAMPLE_CONTENT / rel).read_bytes())
    for p in sorted(SAMPLE_CONTENT.glob("news/2012/11/29/*.md"))[:24]:
        write(root, str(p.relative_to(SAMPLE_CONTENT)), p.read_bytes())
    for p in sorted(SAMPLE_CONTENT.glob("sources/bbc/*/*.txt"))[:4]:
        write(root, str(p.relative_to(SAMPLE_CONTENT)), p.read_bytes())
    return root


def change(root: Path) -> None:
    """An ordinary incremental run's work: a new page, an edited one, one deleted, and an
    edited source text (which re-reads the event it belongs to)."""
    write(
        root,
        "news/2013/01/30/quokka.md",
        "### [2013-01-30](/news/2013/01/30/index.md)\n\n# Quokkarific census\n\nQuokkarific.\n",
    )
    seed = root / SEED_EVENT_ID
    seed.write_text(seed.read_text(encoding="utf-8") + "\nMore troops arrive.\n")
    pages = sorted(p for p in root.glob("news/2012/11/29/*.md") if p.name != "index.md")
    pages[0].unlink()
    source = root / SEED_SOURCE_ID
    source.write_text(source.read_text(encoding="utf-8") + "\nThe embassy reopens.\n")


class FaultyRuns:
    """`searchsvc index` runs, each with its Nth I/O operation failing (faulty_index.py),
    each a fresh process forked from one that has imported searchsvc already."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        env = clean_env() | {"SEARCHSVC_INDEX_NICE": "0"}
        self.proc = subprocess.Popen(
            [sys.executable, str(FAULTY), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def run(self, n: int, err: str, *args: str) -> tuple[int, str, int]:
        """(exit status, stderr, operations counted)."""
        stderr, count = self.tmp / "stderr", self.tmp / "count"
        req = {"n": n, "errno": err, "args": list(args), "stderr": str(stderr)}
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(req | {"count": str(count)}) + "\n")
        self.proc.stdin.flush()
        status = int(self.proc.stdout.readline())
        return status, stderr.read_text(), int(count.read_text())

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def test_each_failed_write_fsync_or_rename_leaves_the_last_generation(tmp_path):
    root = small_tree(tmp_path / "content")
    good = tmp_path / "good"
    run_index(config_for(root, good), progress=False)
    before = answers(root, good)
    change(root)
    fresh = tmp_path / "fresh"
    run_index(config_for(root, fresh), progress=False)
    after = answers(root, fresh)
    assert before != after and after["quokkarific"][0] == 1

    ix = tmp_path / "ix"
    runs = FaultyRuns(tmp_path)
    n, failed = 0, 0
    while True:
        n += 1
        shutil.rmtree(ix, ignore_errors=True)
        shutil.copytree(good, ix)
        err = "ENOSPC" if n % 2 else "EIO"  # each operation fails one way or the other
        status, stderr, count = runs.run(
            n, err, "index", "--no-progress", "--content", str(root), "--index", str(ix)
        )
        if n > count:  # the fault was never reached: the run got through
            assert status == 0, stderr
            break
        if status == 0:  # the fault hit something a run may do without
            assert answers(root, ix) == after, n
            continue
        failed += 1
        assert status == 73, (n, stderr)
        assert "Traceback" not in stderr, (n, stderr)
        errors = [line for line in stderr.splitlines() if " ERROR " in line]
        assert len(errors) == 1 and "cannot write the index" in errors[0], (n, stderr)
        assert ("No space left" if err == "ENOSPC" else "Input/output error") in errors[0]
        # The last committed generation answers (the one before, or, when only the files
        # beside it failed, the new one), and nothing else is left in the folder.
        assert answers(root, ix) in (before, after), n
        assert stray_files(ix) == [], n
        assert index_problem(ix) is None, n
        state = json.loads((ix / "searchsvc-state.json").read_text())
        assert state["running"] is None and "cannot write" in state["last_run"]["error"]
        # The next run, with the disk fine again, gives what a fresh build gives.
        run_index(config_for(root, ix), progress=False)
        assert answers(root, ix) == after, n
        assert stray_files(ix) == [], n
    runs.close()
    assert failed > 10  # the loop went through the run's operations, not around them


def test_full_filesystem_fails_the_run_cleanly(tmp_path, cli):
    with small_disk(tmp_path / "disk", "1200k") as disk:
        root = small_tree(tmp_path / "content")
        ix = disk / "ix"
        cli("index", "--content", str(root), "--index", str(ix), check=True)
        before = answers(root, ix)
        # Fill the disk, leaving too little room for a full rebuild.
        free = shutil.disk_usage(disk).free
        (disk / "filler").write_bytes(b"\0" * (free - 48 * 1024))
        used = shutil.disk_usage(disk).used
        full = cli("index", "--full", "--content", str(root), "--index", str(ix))
        assert full.returncode == 73, full.stderr
        assert "Traceback" not in full.stderr
        errors = [line for line in full.stderr.splitlines() if " ERROR " in line]
        assert len(errors) == 1 and "No space left on device" in errors[0], full.stderr
        assert shutil.disk_usage(disk).used <= used  # what it wrote is gone
        assert stray_files(ix) == []
        assert answers(root, ix) == before
        (disk / "filler").unlink()
        again = cli("index", "--full", "--content", str(root), "--index", str(ix))
        assert again.returncode == 0, again.stderr
        assert answers(root, ix) == before and stray_files(ix) == []
