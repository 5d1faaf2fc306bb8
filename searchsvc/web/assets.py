"""The page's static files, fingerprinted: each URL carries a digest of the file's bytes
(`/static/style.css?v=3f2a...`), so a browser may keep it a year and a new release still
reaches it at once (a new digest is a new URL). A request without the current digest gets
the file too, revalidated each time (an old page asking for an old digest, a hand-typed
URL)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Response, request, url_for

STATIC = Path(__file__).resolve().parent / "static"
LONG_LIVED = "public, max-age=31536000, immutable"  # a year: the URL changes with the bytes


@cache
def digest(filename: str) -> str:
    """The first 12 hex digits of the file's SHA-256 (read once per process)."""
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:12]


def asset_url(filename: str) -> str:
    """The fingerprinted URL of a static file (a template global)."""
    return url_for("ui.static", filename=filename, v=digest(filename))


def cache_headers(response: Response) -> Response:
    """Static responses: long-lived when the URL names the file's current digest."""
    filename = (request.view_args or {}).get("filename", "")
    fingerprinted = False
    if response.status_code in (200, 304) and request.args.get("v"):
        try:
            fingerprinted = request.args["v"] == digest(filename)
        except OSError:  # answered, yet not readable here: no promise
            fingerprinted = False
    response.headers["Cache-Control"] = LONG_LIVED if fingerprinted else "no-cache"
    return response
