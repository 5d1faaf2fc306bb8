"""Lighthouse on the search page: the four scores of every page kind, desktop and mobile.

    (cd bench/lighthouse && npm ci)          # Lighthouse 12.2.3 (runs on Node 20)
    .venv/bin/python bench/lighthouse.py [--url http://127.0.0.1:8000] [--runs 1]

Without --url it starts `searchsvc serve` over the bundled sample (index in a temporary
folder) on a free port, and stops it at the end. Each page is audited in Debian's
Chromium (`chromium`, or SEARCHSVC_CHROMIUM) with Lighthouse's mobile settings (the
default: a phone, throttled) and its desktop preset. Prints one row per page and form
factor with performance, accessibility, best practices and SEO (0-100; the median of
--runs runs), then every audit that cost a point, so that a score under 100 says why.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from searchsvc.config import SAMPLE_CONTENT

log = logging.getLogger("bench.lighthouse")
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIGHTHOUSE = HERE / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
SEED = (
    "news/2013/01/21/northern-mali-conflict-french-and-malian-troops-retake-diabaly-and-"
    "douentza-as-islamist-forces-retreat.md"
)
PAGES = {
    "home": "/",
    "results": "/?q=Douentza",
    "tag filter": "/?tag=Mali",
    "page 2": "/?q=Mali&page=2",
}
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
RUN_TIMEOUT = 180  # seconds for one Lighthouse run
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run --disable-quic"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCHSVC_")}
    serve = ["serve", "--port", str(port), "--no-schedule", "--content", str(SAMPLE_CONTENT)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "searchsvc", *serve, "--index", str(workdir / "ix")],
        stdout=(workdir / "serve.log").open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit((workdir / "serve.log").read_text())
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the server was not ready within 120 s")


def audit(url: str, desktop: bool, chromium: str) -> dict[str, object]:
    """One Lighthouse run: its report (JSON)."""
    cmd = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
    ]
    if desktop:
        cmd.append("--preset=desktop")
    out = subprocess.run(
        cmd,
        capture_output=True,
        timeout=RUN_TIMEOUT,
        env={**os.environ, "CHROME_PATH": chromium},
        check=True,
    )
    return json.loads(out.stdout)


def lost_points(report: dict) -> list[str]:
    """The audits of the four categories that did not pass, as `category: id (title)`."""
    out = []
    for cat in CATEGORIES:
        for ref in report["categories"][cat]["auditRefs"]:
            a = report["audits"][ref["id"]]
            if ref["weight"] and a.get("score") is not None and a["score"] < 1:
                out.append(f"{cat}: {a['id']} ({a['title']}) {a.get('displayValue', '')}")
    return out


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running server (default: start one on the sample)")
    parser.add_argument("--runs", type=int, default=1, help="runs per page (median shown)")
    parser.add_argument("--event", default=SEED, help="the event page's id (the sample's seed)")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"no Lighthouse: (cd {LIGHTHOUSE.parents[2]} && npm ci)")
    chromium = os.environ.get("SEARCHSVC_CHROMIUM") or shutil.which("chromium") or ""
    if not chromium:
        raise SystemExit("no Chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as tmp:
        proc, url = (None, args.url.rstrip("/")) if args.url else start_server(Path(tmp))
        try:
            rows, lost = [], set()
            for name, path in {**PAGES, "event": "/doc/" + args.event}.items():
                for desktop in (True, False):
                    try:
                        reports = [audit(url + path, desktop, chromium) for _ in range(args.runs)]
                    except (subprocess.SubprocessError, ValueError) as exc:
                        log.error("%s %s: Lighthouse failed: %s", name, path, exc)
                        continue
                    scores = [
                        round(statistics.median(r["categories"][c]["score"] * 100 for r in reports))
                        for c in CATEGORIES
                    ]
                    rows.append((name, "desktop" if desktop else "mobile", *scores))
                    lost.update(f"{name}: {x}" for r in reports for x in lost_points(r))
        finally:
            if proc:
                proc.terminate()
                proc.wait(timeout=30)
    head = ("page", "form", "perf", "a11y", "best", "seo")
    log.info("| %s |", " | ".join(head))
    log.info("|%s", "---|" * len(head))
    for row in rows:
        log.info("| %s |", " | ".join(str(v) for v in row))
    for line in sorted(lost):
        log.info("lost: %s", line)


if __name__ == "__main__":
    main()
