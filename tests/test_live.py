"""Live file following over a real `searchsvc serve`: real files, the real watcher (inotify),
the schedule off, so that only the watcher can make a change searchable. One server for
the module; each test changes its own files."""

from __future__ import annotations

import os
import shutil
import time

import pytest
import requests
from conftest import Server, eventually, write
from filelock import FileLock

from searchsvc.config import SAMPLE_CONTENT as SEED_ROOT
from searchsvc.index import state

EVENT = "### [2013-03-01](/news/2013/03/01/index.md)\n\n# {title}\n\n{body}\n"
TOKEN = "live-test-token"
MD = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/markdown"}
DEBOUNCE = 0.5  # seconds: the watcher's, here
WAIT = 30  # seconds: a debounce, a child process, a run and a worker's switch, on a busy box


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    base = tmp_path_factory.mktemp("live")
    root = base / "content"
    shutil.copytree(SEED_ROOT, root)
    server = Server(
        root,
        base / "ix",
        env={
            "SEARCHSVC_SCHEDULE_ENABLED": "0",
            "SEARCHSVC_WATCH_DEBOUNCE": str(DEBOUNCE),
            "SEARCHSVC_ADMIN_TOKEN": TOKEN,
            "SEARCHSVC_ADMIN_PUSH_WAIT": "1",
        },
    ).wait_ready()
    eventually(lambda: stats(server)["watch"]["running"], WAIT)
    yield server, root
    server.stop()


def stats(server: Server) -> dict:
    return requests.get(server.url + "/stats", timeout=10).json()


def ids(server: Server, q: str) -> list[str]:
    r = requests.get(server.url + "/search", params={"q": q, "per_page": 100}, timeout=10)
    return [h["id"] for h in r.json()["hits"]]


def settled(server: Server) -> dict:
    """/stats once no run is under way and the watcher has nothing pending: quiet, and
    still so, with no new run, after three debounces (file events of an earlier test
    still waiting out the debounce would fire a run later and count in this test's runs)."""

    def quiet() -> dict | None:
        s = stats(server)
        watch = s["watch"]  # its last burst's run ended, or it never fired (run alone)
        done = watch["last_status"] is not None or watch["last_fired"] is None
        return s if s["running"] is None and done else None

    def steady() -> bool:
        first = quiet()
        time.sleep(3 * DEBOUNCE)
        second = quiet()
        if not (first and second):
            return False
        return (first["runs"], first["watch"]["last_fired"]) == (
            second["runs"],
            second["watch"]["last_fired"],
        )

    eventually(steady, WAIT)
    return stats(server)


def test_a_file_written_in_place_is_followed(live):
    server, root = live
    rel = "news/2013/03/01/in-place.md"
    path = write(root, rel, EVENT.format(title="Aardvark count", body="Aardvarkish."))
    eventually(lambda: ids(server, "aardvarkish") == [rel], WAIT)
    inode = path.stat().st_ino
    with open(path, "r+", encoding="utf-8") as f:  # the same file, rewritten
        f.write(EVENT.format(title="Axolotl count", body="Axolotlish."))
        f.truncate()
    assert path.stat().st_ino == inode
    eventually(lambda: ids(server, "axolotlish") == [rel] and not ids(server, "aardvarkish"), WAIT)
    watch = stats(server)["watch"]
    assert watch["running"] is True and watch["last_fired"] is not None


def test_a_save_through_a_temporary_file_and_a_rename_is_followed(live):
    server, root = live
    rel = "news/2013/03/01/editor-save.md"
    write(root, rel, EVENT.format(title="Binturong sighting", body="Binturong."))
    eventually(lambda: ids(server, "binturong") == [rel], WAIT)
    # What editors do: the new text into a temporary file beside it, then renamed over it.
    for temp in (".editor-save.md.swp", "editor-save.md~"):
        tmp = root / "news/2013/03/01" / temp
        tmp.write_text(EVENT.format(title="Caracal sighting", body="Caracal."), encoding="utf-8")
        os.replace(tmp, root / rel)
        eventually(lambda: ids(server, "caracal") == [rel] and not ids(server, "binturong"), WAIT)
        (root / rel).write_text(EVENT.format(title="Binturong", body="Binturong."), "utf-8")
        eventually(lambda: ids(server, "binturong") == [rel], WAIT)
    # The temporary files are not content: nothing of them in the index (once both web
    # workers have moved to the last generation).
    eventually(lambda: ids(server, "caracal") == [], WAIT)


def test_a_folder_copied_in_at_once_is_one_run(live, tmp_path):
    server, root = live
    before = settled(server)["runs"]
    batch = tmp_path / "batch"
    for n in range(40):
        write(batch, f"e{n:02}.md", EVENT.format(title=f"Dugong count {n}", body="Dugongish."))
    # As rsync does it: each file into a hidden temporary name, then renamed into place.
    dest = root / "news/2014/06/02"
    dest.mkdir(parents=True)
    for f in sorted(batch.iterdir()):
        shutil.copy(f, dest / f".{f.name}.XyZ123")
        os.replace(dest / f".{f.name}.XyZ123", dest / f.name)
    eventually(lambda: len(ids(server, "dugongish")) == 40, WAIT)
    after = settled(server)
    assert after["runs"] == before + 1, "forty files, one index run"
    assert after["watch"]["last_status"] == 0
    # And a whole folder tree copied in one go (cp -r).
    shutil.copytree(batch, root / "news/2014/07")
    eventually(lambda: len(ids(server, "dugongish")) == 80, WAIT)
    assert settled(server)["runs"] == before + 2


def test_a_moved_file_and_a_deleted_file_and_folder_are_followed(live):
    server, root = live
    a = "news/2013/03/01/moving.md"
    b = "news/2013/03/05/moved.md"
    write(root, a, EVENT.format(title="Echidna parade", body="Echidnaish."))
    eventually(lambda: ids(server, "echidnaish") == [a], WAIT)
    (root / b).parent.mkdir(parents=True, exist_ok=True)
    os.rename(root / a, root / b)
    eventually(lambda: ids(server, "echidnaish") == [b], WAIT)
    (root / b).unlink()
    eventually(lambda: ids(server, "echidnaish") == [], WAIT)
    # A folder moved in from outside the tree, then the folder deleted.
    outside = root.parent / "outside"
    write(outside, "x/f.md", EVENT.format(title="Fossa", body="Fossaish."))
    os.rename(outside / "x", root / "news/2013/03/06")
    eventually(lambda: ids(server, "fossaish") == ["news/2013/03/06/f.md"], WAIT)
    shutil.rmtree(root / "news/2013/03/06")
    eventually(lambda: ids(server, "fossaish") == [], WAIT)


def runs_naming(server: Server, doc_id: str) -> int:
    """The watcher's runs whose paths (as its log names them) hold this id."""
    lines = server.log.read_text().splitlines()
    return sum(1 for line in lines if "index run over" in line and doc_id in line.split(": ")[-1])


def test_a_push_is_indexed_by_the_watcher_in_one_run(live):
    server, root = live
    rel = "news/2013/03/07/pushed.md"
    before = settled(server)["runs"]
    for n, (title, status) in enumerate([("Gerenuk", 201), ("Gharial", 200)], 1):
        r = requests.put(
            f"{server.url}/admin/documents/{rel}",
            data=EVENT.format(title=title, body=f"{title}ish."),
            headers=MD,
            timeout=60,
        )
        assert r.status_code == status and r.json()["title"] == title, r.text
        eventually(lambda t=title: ids(server, f"{t}ish") == [rel], WAIT)
        # A file written by hand after the push: once it is searchable, the file events of
        # the push's own write (before it) have been seen too.
        hand = f"news/2013/03/07/by-hand-{n}.md"
        write(root, hand, EVENT.format(title="Genet", body=f"Genetish{n}."))
        eventually(lambda h=hand, n=n: ids(server, f"genetish{n}") == [h], WAIT)
        # One run per push (the watcher's, asked by the push), one for the hand's file.
        assert settled(server)["runs"] == before + 2 * n
        assert runs_naming(server, rel) == n
    # Every worker moves on to the newest generation within its refresh: the one that did
    # not answer the searches above may still be on the push's first version a moment.
    eventually(lambda: ids(server, "gerenukish") == [], WAIT)
    # The push's temporary file is gone (a new file is linked into place, not renamed).
    assert sorted(p.name for p in (root / "news/2013/03/07").iterdir()) == [
        "by-hand-1.md",
        "by-hand-2.md",
        "pushed.md",
    ]


def test_a_push_while_a_run_holds_the_index_is_queued_in_the_watcher(live):
    server, root = live
    rel = "news/2013/03/08/while-busy.md"
    with FileLock(str(root.parent / "ix" / "searchsvc.lock")).acquire(timeout=30):
        r = requests.put(
            f"{server.url}/admin/documents/{rel}",
            data=EVENT.format(title="Hyrax", body="Hyraxish."),
            headers=MD,
            timeout=60,
        )
        assert r.status_code == 202 and r.json()["title"] == "Hyrax", r.text
        assert (root / rel).is_file() and ids(server, "hyraxish") == []
        # A second push meanwhile: the watcher's run that waits for the index has it too.
        r = requests.delete(f"{server.url}/admin/documents/{rel}", headers=MD, timeout=60)
        assert r.status_code == 202, r.text
        r = requests.put(
            f"{server.url}/admin/documents/{rel}",
            data=EVENT.format(title="Hyrax", body="Hyraxish."),
            headers=MD,
            timeout=60,
        )
        assert r.status_code == 202, r.text
    eventually(lambda: ids(server, "hyraxish") == [rel], WAIT)


def test_the_watcher_stops_with_the_server(live):
    server, root = live  # the last test of the module: it stops the server
    assert stats(server)["watch"]["running"] is True
    server.stop()
    assert state.read(root.parent / "ix")["watch"]["running"] is False
    assert not (root.parent / "ix" / "searchsvc-watch.sock").exists()
