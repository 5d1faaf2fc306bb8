"""Security: ids are looked up, never joined to paths; the content walk stays inside the
root; tokens, headers, limits; nothing internal reaches a client."""

from __future__ import annotations

import os

import pytest
from conftest import SEED_EVENT_ID, config_for, sample_client, write

from searchsvc.config import load_config
from searchsvc.index import SearchIndex, run_index
from searchsvc.query import SearchRequest


@pytest.fixture
def client(sample_index):
    return sample_client(sample_index, **{"admin.token": "t0ken-value"})


@pytest.mark.parametrize(
    "path",
    [
        "/events/../../../../etc/passwd",
        "/events/..%2F..%2F..%2Fetc%2Fpasswd",
        "/events/%2Fetc%2Fpasswd",
        "/events/news/../../../etc/hostname",
        "/doc/../../etc/passwd",
        "/events/" + "a/" * 200 + "b",
    ],
)
def test_ids_are_looked_up_not_joined_to_paths(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert b"root:" not in r.data


def test_the_walk_does_not_follow_links_out_of_the_root(tmp_path):
    root = tmp_path / "content"
    write(root, "news/2013/01/21/a.md", "# Inside\n\nInside words.\n")
    outside = tmp_path / "outside"
    write(outside, "secret.md", "# Outside\n\nZanzibarian secret.\n")
    os.symlink(outside, root / "news" / "linked-dir")
    os.symlink(outside / "secret.md", root / "news" / "linked-file.md")
    config = config_for(root, tmp_path / "ix")
    report = run_index(config, progress=False)
    assert report.documents == 1
    assert ("news/linked-file.md", "symbolic link leads outside the content root") in (
        report.skipped
    )
    assert SearchIndex(config).search(SearchRequest(q="Zanzibarian")).total == 0


def test_admin_tokens(client):
    for given in ("", "t", "t0ken-valu", "t0ken-value-and-more", "T0KEN-VALUE", "x" * 5000):
        r = client.post("/admin/reindex", headers={"Authorization": f"Bearer {given}"})
        assert r.status_code in (401, 403), given
    r = client.post("/admin/reindex", headers={"Authorization": "Basic t0ken-value"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")


def test_security_headers(client):
    for path in ("/search?q=Mali", f"/events/{SEED_EVENT_ID}", "/", "/nowhere"):
        r = client.get(path)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert (
        client.get("/search?q=Mali")
        .headers["Content-Security-Policy"]
        .startswith("default-src 'none'")
    )


def test_request_size_limits(client):
    assert client.get("/search?q=" + "x" * 9000).status_code == 414
    assert client.post("/admin/reindex", data="x" * 100_000).status_code == 413


def test_binds_to_localhost_unless_told_otherwise():
    assert load_config(path=None, env={}).server.host == "127.0.0.1"


def test_an_unexpected_error_tells_nothing_internal(sample_index, monkeypatch):
    # Fault injection: a bug deep in the search layer, with a path in its message.
    def broken(self, req, *_args):
        raise RuntimeError(f"boom in {sample_index}/secret/path (whoosh 2.7.4)")

    monkeypatch.setattr(SearchIndex, "search", broken)
    monkeypatch.setattr(SearchIndex, "search_text", broken)  # what /search calls
    r = sample_client(sample_index).get("/search?q=x")
    assert r.status_code == 500
    assert r.get_json() == {
        "error": {"code": "internal_error", "message": "internal error; it has been logged"}
    }
    assert b"boom" not in r.data and b"secret" not in r.data and b"2.7.4" not in r.data
