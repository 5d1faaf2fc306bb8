"""The push API over a real `searchsvc serve`: PUT and DELETE /admin/documents/<id> write
the real content tree and index it; bad ids and bad documents write nothing; a push while
a run holds the index is kept; a server killed in the middle of pushes leaves whole files."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from conftest import SHOW_KEYS, Server, eventually, search_ids, show_json, write
from filelock import FileLock

from searchsvc.config import SAMPLE_CONTENT

TOKEN = "push-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MD = {**AUTH, "Content-Type": "text/markdown"}
EVENT = "### [2013-03-01](/news/2013/03/01/index.md)\n\n# {title}\n\n{body}\n"
WAIT = 30


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    base = tmp_path_factory.mktemp("push")
    root = base / "content"
    shutil.copytree(SAMPLE_CONTENT, root)
    env = {
        "SEARCHSVC_ADMIN_TOKEN": TOKEN,
        "SEARCHSVC_ADMIN_PUSH_WAIT": "1",
        "SEARCHSVC_CONTENT_MAX_FILE_BYTES": "200000",
        # Only the push indexes here: the watcher and the schedule are tested elsewhere.
        "SEARCHSVC_SCHEDULE_ENABLED": "0",
        "SEARCHSVC_WATCH_ENABLED": "0",
    }
    (base / "outside").mkdir()
    (root / "news/linked").symlink_to(base / "outside")
    write(root, "news/file.md", EVENT.format(title="A file", body="A file."))
    server = Server(root, base / "ix", env=env).wait_ready()
    yield server, root, base / "ix"
    server.stop()


def url(server: Server, doc_id: str) -> str:
    return f"{server.url}/admin/documents/{doc_id}"


def ids(server: Server, q: str) -> list[str]:
    r = requests.get(server.url + "/search", params={"q": q, "per_page": 100}, timeout=10)
    return [h["id"] for h in r.json()["hits"]]


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_put_writes_indexes_and_answers_the_parsed_document(pushed, cli):
    server, root, ix = pushed
    doc_id = "news/2013/03/01/pushed.md"
    r = requests.put(
        url(server, doc_id),
        data=EVENT.format(title="Hoatzin", body="Hoatzinish."),
        headers=MD,
        timeout=60,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert list(body) == SHOW_KEYS and body["title"] == "Hoatzin"
    assert (root / doc_id).read_text() == EVENT.format(title="Hoatzin", body="Hoatzinish.")
    # Indexed before the answer: the index on disk has it now; the web workers within
    # their refresh.
    assert show_json(cli, ix, doc_id)["title"] == "Hoatzin"
    eventually(lambda: ids(server, "hoatzinish") == [doc_id], WAIT)

    text = EVENT.format(title="Ibisbill", body="Ibisbillish.")
    r = requests.put(
        url(server, doc_id),
        data=text.encode(),
        headers={**AUTH, "Content-Type": "text/plain; charset=utf-8"},
        timeout=60,
    )
    assert r.status_code == 200 and r.json()["title"] == "Ibisbill"
    eventually(
        lambda: ids(server, "ibisbillish") == [doc_id] and not ids(server, "hoatzinish"), WAIT
    )

    r = requests.delete(url(server, doc_id), headers=AUTH, timeout=60)
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert not (root / doc_id).exists()
    eventually(lambda: ids(server, "ibisbillish") == [], WAIT)
    again = requests.delete(url(server, doc_id), headers=AUTH, timeout=60)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


def test_a_source_text_is_pushed_too(pushed):
    server = pushed[0]
    doc_id = "sources/cms/kakapo.txt"
    text = "---\ntitle: Kakapo season\nurl: https://cms.example/kakapo\n---\n\nKakapoish.\n"
    r = requests.put(url(server, doc_id), data=text, headers=MD, timeout=60)
    assert r.status_code == 201 and r.json()["kind"] == "source", r.text
    eventually(lambda: ids(server, "kakapoish") == [doc_id], WAIT)


@pytest.mark.parametrize(
    ("doc_id", "reason"),
    [
        ("%2Fetc%2Fx.md", "relative"),  # absolute
        ("/news/x.md", "relative"),
        ("news/%2E%2E/news/x.md", "'..'"),
        ("news/2013/%2E/x.md", "'.'"),
        ("news/.drafts/x.md", "hidden"),
        ("news/2013/x.docx", "glob"),
        ("other/x.md", "glob"),
        ("news/2013/03/01/index.md", "day page"),
        ("news/linked/x.md", "link"),
        ("news/file.md/x.md", "through a file"),
        ("news/" + "x" * 300 + ".md", "too long"),
    ],
)
def test_an_id_that_is_not_content_is_refused_and_nothing_written(pushed, doc_id, reason):
    server, root, _ = pushed
    before = files_under(root)
    r = requests.put(
        url(server, doc_id),
        data=EVENT.format(title="Jacana", body="Jacana."),
        headers=MD,
        timeout=60,
    )
    assert r.status_code == 400, r.text
    assert reason in r.json()["error"]["message"]
    assert files_under(root) == before and list((root.parent / "outside").iterdir()) == []


def test_a_document_that_does_not_parse_is_refused_with_the_reason(pushed):
    server, root, _ = pushed
    doc_id = "news/2013/03/01/bad.md"
    for data, reason in [(b"", "empty"), (b"\xff\xfe\x00bad", "")]:
        r = requests.put(url(server, doc_id), data=data, headers=MD, timeout=60)
        assert r.status_code == 400, r.text
        assert "does not parse" in r.json()["error"]["message"] and reason in r.text
        assert not (root / doc_id).exists()


def test_size_type_and_token_are_checked(pushed):
    server, root, _ = pushed
    doc_id = "news/2013/03/01/big.md"
    big = EVENT.format(title="Big", body="word " * 50_000)  # 250 kB > 200 kB
    r = requests.put(url(server, doc_id), data=big, headers=MD, timeout=60)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    # Without a Content-Length (chunked), the limit still holds.
    r = requests.put(url(server, doc_id), data=iter([big.encode()]), headers=MD, timeout=60)
    assert r.status_code == 413
    r = requests.put(
        url(server, doc_id),
        data="{}",
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 415
    assert requests.put(url(server, doc_id), data="x", timeout=60).status_code == 401
    r = requests.put(
        url(server, doc_id), data="x", headers={"Authorization": "Bearer no"}, timeout=60
    )
    assert r.status_code == 403
    assert not (root / doc_id).exists()


def test_a_push_while_a_run_holds_the_index_is_written_and_indexed_when_it_ends(pushed):
    server, root, ix = pushed
    doc_id = "news/2013/03/01/while-busy.md"
    lock = FileLock(str(ix / "searchsvc.lock"))  # as a full rebuild holds it
    with lock.acquire(timeout=30):
        r = requests.put(
            url(server, doc_id),
            data=EVENT.format(title="Kinkajou", body="Kinkajouish."),
            headers=MD,
            timeout=60,
        )
        assert r.status_code == 202 and r.json()["title"] == "Kinkajou", r.text
        assert requests.get(server.url + "/stats", timeout=10).json()["watch"]["running"] is False
        assert (root / doc_id).is_file()
        assert ids(server, "kinkajouish") == []
    eventually(lambda: ids(server, "kinkajouish") == [doc_id], WAIT)


def test_two_pushes_to_one_id_at_once_leave_one_of_them_in_the_file_and_the_index(pushed, cli):
    server, root, ix = pushed
    doc_id = "news/2013/03/01/race.md"
    texts = [
        EVENT.format(title=f"Lemur {n}", body=f"Lemurish {'x' * n * 1000}.") for n in range(1, 4)
    ]

    def push(text: str) -> int:
        return requests.put(url(server, doc_id), data=text, headers=MD, timeout=60).status_code

    with ThreadPoolExecutor(len(texts)) as pool:
        codes = list(pool.map(push, texts))
    assert set(codes) <= {200, 201} and codes.count(201) <= 1, codes
    final = (root / doc_id).read_text()
    assert final in texts
    title = final.split("\n# ", 1)[1].split("\n")[0]
    assert show_json(cli, ix, doc_id)["title"] == title


def process_tree(pid: int) -> list[int]:
    out = [pid]
    for p in out:
        for task in Path(f"/proc/{p}/task").glob("*"):
            children = (task / "children").read_text().split()
            out += [int(c) for c in children if int(c) not in out]
    return out


def test_sigkill_in_the_middle_of_pushes_leaves_a_whole_file_and_the_next_run_indexes_it(
    tmp_path, cli
):
    root = tmp_path / "content"
    shutil.copytree(SAMPLE_CONTENT, root)
    ix = tmp_path / "ix"
    doc_id = "news/2013/03/01/killed.md"
    old = EVENT.format(title="Margay 0", body="Margayish.")
    write(root, doc_id, old)
    env = {
        "SEARCHSVC_ADMIN_TOKEN": TOKEN,
        "SEARCHSVC_SCHEDULE_ENABLED": "0",
        "SEARCHSVC_WATCH_ENABLED": "0",
    }
    server = Server(root, ix, "--workers", "2", env=env).wait_ready()
    # Large bodies: the kill lands while one is being written or renamed, or indexed.
    texts = [
        EVENT.format(title=f"Margay {n}", body=f"Margayish {str(n) * 400_000}.")
        for n in range(1, 7)
    ]
    stop = threading.Event()
    sent: list[int] = []

    def push(n: int) -> None:
        while not stop.is_set():
            try:
                requests.put(url(server, doc_id), data=texts[n], headers=MD, timeout=30)
                sent.append(n)
            except requests.RequestException:
                return

    threads = [threading.Thread(target=push, args=(n,)) for n in range(len(texts))]
    for t in threads:
        t.start()
    eventually(lambda: len(sent) >= 2, WAIT)
    for pid in process_tree(server.proc.pid):  # the whole server at once: no clean-up
        os.kill(pid, signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(40)
    server.proc.wait(10)
    server._out.close()
    final = (root / doc_id).read_text()
    assert final == old or final in texts, "a torn file"
    cli("index", "--content", str(root), "--index", str(ix), check=True)
    title = final.split("\n# ", 1)[1].split("\n")[0]
    assert show_json(cli, ix, doc_id)["title"] == title
    # The temporary files of pushes cut short are hidden: no document of theirs.
    assert search_ids(cli, ix, "margayish") == [doc_id]


def test_a_push_removes_what_a_killed_push_to_the_same_id_left(tmp_path):
    """A push killed between its temporary file and the rename leaves a hidden
    `.name.*.push`; the next push to that id removes it once it is an hour old, and never
    the temporary file of a push under way."""
    from searchsvc.push import STALE_PUSH_SECONDS, _write_atomic

    target = tmp_path / "news" / "2013" / "01" / "25" / "event.md"
    target.parent.mkdir(parents=True)
    stale = target.parent / ".event.md.abc123.push"
    fresh = target.parent / ".event.md.def456.push"
    for f in (stale, fresh):
        f.write_text("half a push")
    old = time.time() - STALE_PUSH_SECONDS - 60
    os.utime(stale, (old, old))
    assert _write_atomic(target, b"---\ntitle: T\n---\nBody.\n") is True
    assert not stale.exists() and fresh.exists()
    assert target.read_bytes().startswith(b"---")
