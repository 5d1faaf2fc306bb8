"""Shared fixtures: content trees on disk built from the real seed documents, real indexes,
and the `searchsvc` command run as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from searchsvc.config import SAMPLE_CONTENT, Config, load_config
from searchsvc.index import run_index
from searchsvc.web import create_app

SEED_EVENT_ID = (
    "news/2013/01/21/northern-mali-conflict-french-and-malian-troops-retake-diabaly-and-"
    "douentza-as-islamist-forces-retreat.md"
)
SEED_SOURCE_ID = "sources/theglobeandmail/canada-evacuates-embassy-staff-from-mali.txt"
# The keys of `searchsvc show --json`, `GET /events/<id>` and Document.to_dict, in order.
SHOW_KEYS = [
    "id",
    "kind",
    "date",
    "title",
    "story",
    "summary",
    "body",
    "category",
    "tags",
    "locations",
    "sources",
    "related",
]
ROOT = Path(__file__).resolve().parents[1]  # the project
SHARED = Path(__file__).resolve().parents[2] / "shared"


def seed_text(which: str) -> str:
    """A seed document as the product was specified from it (the bundled sample's copy)."""
    rel = SEED_EVENT_ID if which == "event" else SEED_SOURCE_ID
    return (SAMPLE_CONTENT / rel).read_text(encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small content tree: the two seeds, in the layout of content-format.md."""
    root = tmp_path / "content"
    for rel in (SEED_EVENT_ID, SEED_SOURCE_ID):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE_CONTENT / rel, root / rel)
    return root


@pytest.fixture
def sample_tree(tmp_path: Path) -> Path:
    """A writable copy of the bundled sample (540 files: seeds, related events, a month)."""
    root = tmp_path / "content"
    shutil.copytree(SAMPLE_CONTENT, root)
    return root


def write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def config_for(root: Path, index_dir: Path, **flags: object) -> Config:
    return load_config(
        path=None,
        env={},
        flags={"content.root": str(root), "index.dir": str(index_dir), **flags},
    )


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample copied and indexed once for the whole run (`content/`, `ix/`
    under the returned directory); tests only read it."""
    base = tmp_path_factory.mktemp("sample-index")
    shutil.copytree(SAMPLE_CONTENT, base / "content")
    run_index(config_for(base / "content", base / "ix"), progress=False)
    return base


def sample_client(base: Path, **flags: object) -> FlaskClient:
    """A test client of the app over `sample_index`, with these settings changed."""
    return create_app(config_for(base / "content", base / "ix", **flags)).test_client()


Runner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(tmp_path: Path) -> Runner:
    """Run `searchsvc ...` in a subprocess, with no config file and a clean environment."""

    def run(*args: str, env: dict[str, str] | None = None, check: bool = False):
        environ = clean_env() | (env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "searchsvc", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=environ,
            timeout=300,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"searchsvc {' '.join(args)} failed:\n{proc.stderr}")
        return proc

    return run


def show_json(cli: Runner, index_dir: Path, doc_id: str) -> dict:
    proc = cli("show", doc_id, "--json", "--index", str(index_dir), check=True)
    return json.loads(proc.stdout)


def search_ids(cli: Runner, index_dir: Path, query: str, *extra: str) -> list[str]:
    proc = cli("search", query, "--json", "--index", str(index_dir), *extra, check=True)
    return [h["id"] for h in json.loads(proc.stdout)["hits"]]


def clean_env() -> dict[str, str]:
    """This process's environment without any SEARCHSVC_ setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SEARCHSVC_")}


def eventually(predicate: Callable[[], bool], timeout: float) -> float:
    """Seconds until predicate() holds; fails after timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s")


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` ("2m") mounted at `path` for the block (skips the test where
    mounting is not allowed): a disk to fill up or turn read-only."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root?): " + mounted.stderr.decode()[:200])
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True, timeout=60)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`searchsvc serve` in a subprocess on a free port: the real gunicorn, the real app."""

    def __init__(
        self,
        root: Path,
        index_dir: Path,
        *args: str,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = clean_env() | (env or {})
        self.log = log or index_dir.parent / f"serve-{self.port}.log"
        self._out = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "searchsvc",
                "serve",
                "--port",
                str(self.port),
                "--content",
                str(root),
                "--index",
                str(index_dir),
                *args,
            ],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env=environ,
            cwd=index_dir.parent,
        )

    def wait_ready(self, timeout: float = 60.0) -> Server:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited:\n{self.log.read_text()}")
            try:
                requests.get(self.url + "/health", timeout=2)
                return self
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"server not ready:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


@pytest.fixture(scope="session")
def sample_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`searchsvc serve` over a copy of the sample, started once for the whole run (its
    first start builds the index); tests only read from it."""
    base = tmp_path_factory.mktemp("served-sample")
    shutil.copytree(SAMPLE_CONTENT, base / "content")
    server = Server(base / "content", base / "ix", "--no-schedule").wait_ready()
    yield server
    server.stop()


# The browser tests drive Debian's Chromium through Playwright (which downloads no browser).
CHROMIUM = os.environ.get("SEARCHSVC_CHROMIUM") or shutil.which("chromium") or ""
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium; skipped without it, unless SEARCHSVC_REQUIRE_BROWSER (CI)."""
    if not CHROMIUM:
        if os.environ.get("SEARCHSVC_REQUIRE_BROWSER"):
            pytest.fail("no Chromium (apt-get install chromium), and the browser test is required")
        pytest.skip("no Chromium installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()
