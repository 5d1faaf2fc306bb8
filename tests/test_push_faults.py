"""A push whose write fails (a full disk, a read-only one) over a real `searchsvc serve`
whose content tree is on a small tmpfs: a clear 503 with the system's reason, the tree as
it was (no torn file, no temporary file left), the last good index still answering; and
pushes go through again once the disk has room."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import requests
from conftest import SEED_EVENT_ID, Server, eventually, small_disk
from test_write_faults import small_tree

TOKEN = "push-faults-token"
MD = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/markdown"}
EVENT = "### [2013-03-01](/news/2013/03/01/index.md)\n\n# {title}\n\n{body}\n"
WAIT = 30


def ids(server: Server, q: str) -> list[str]:
    r = requests.get(server.url + "/search", params={"q": q, "per_page": 100}, timeout=10)
    return [h["id"] for h in r.json()["hits"]]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def put(server: Server, doc_id: str, text: str) -> requests.Response:
    url = f"{server.url}/admin/documents/{doc_id}"
    return requests.put(url, data=text.encode(), headers=MD, timeout=60)


def test_a_push_that_cannot_be_written_is_refused_and_changes_nothing(tmp_path):
    server = None
    with small_disk(tmp_path / "disk", "2m") as disk:
        try:
            root = small_tree(disk / "content")
            env = {
                "SEARCHSVC_ADMIN_TOKEN": TOKEN,
                "SEARCHSVC_SCHEDULE_ENABLED": "0",
                "SEARCHSVC_CONTENT_MAX_FILE_BYTES": "1000000",
            }
            server = Server(root, tmp_path / "ix", env=env).wait_ready()
            before = tree(root)
            seed_hits = ids(server, "Douentza")
            assert SEED_EVENT_ID in seed_hits

            # A full disk: the replacement of a page and a new page both fail whole.
            free = shutil.disk_usage(disk).free
            (disk / "filler").write_bytes(b"\0" * (free - 16 * 1024))
            big = EVENT.format(title="Douentza again", body="Wombatic. " * 20_000)
            for doc_id in (SEED_EVENT_ID, "news/2013/03/01/new-page.md"):
                r = put(server, doc_id, big)
                assert r.status_code == 503, r.text
                assert r.json()["error"]["message"] == (
                    "the document cannot be written: No space left on device"
                )
            assert tree(root) == before  # the page as it was, nothing new, no temporary file

            # A read-only disk: a push and a deletion fail whole too.
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, timeout=60)
            r = put(
                server, "news/2013/03/01/new-page.md", EVENT.format(title="W", body="Wombatic.")
            )
            assert r.status_code == 503 and "Read-only file system" in r.json()["error"]["message"]
            r = requests.delete(
                f"{server.url}/admin/documents/{SEED_EVENT_ID}", headers=MD, timeout=60
            )
            assert r.status_code == 503 and "Read-only file system" in r.json()["error"]["message"]
            assert tree(root) == before

            # The last good index answers as before, the server is well.
            assert ids(server, "Douentza") == seed_hits
            assert not ids(server, "wombatic")
            assert "Traceback" not in server.log.read_text()

            # Room again: the same push goes through and is searchable.
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True, timeout=60)
            (disk / "filler").unlink()
            r = put(
                server, "news/2013/03/01/new-page.md", EVENT.format(title="W", body="Wombatic.")
            )
            assert r.status_code == 201, r.text
            eventually(lambda: ids(server, "wombatic") == ["news/2013/03/01/new-page.md"], WAIT)
            assert sorted(tree(root)) == sorted([*before, "news/2013/03/01/new-page.md"])
        finally:
            if server is not None:
                server.stop()
