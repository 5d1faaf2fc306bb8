"""HTTP caching and compression of the public answers.

A GET of the public API or of a page is a function of the index generation (with the
synonyms and pins in force: `SearchIndex.answer_state`), the request and the
configuration, so its validator is cheap to know before the search runs: the ETag
is a digest of those three, computed first, and a matching `If-None-Match` is answered 304
without searching. A new generation changes every ETag. The ETag is weak (`W/`): the
gzipped and the plain answer carry the same one (`Vary: Accept-Encoding` tells caches
they differ in bytes), which weak comparison, the one `If-None-Match` uses, allows.

Answers other than 200 keep `no-store` (an error must not stick in a CDN), and so do the
admin, health, probe and metrics answers, which describe this moment of this process.
Compression is flask-compress: gzip for answers over `http.compress_min_bytes`.
"""

from __future__ import annotations

import hashlib

from flask import Flask, Response, g, request

from searchsvc.config import Config
from searchsvc.index import IndexUnavailable

# The endpoints whose GET answers are public and depend only on the index and the request.
CACHEABLE = frozenset(
    {
        "search.search",
        "search.suggest",
        "events.event",
        "events.related",
        "meta.openapi",
        "ui.page",
        "ui.document",
        "ui.opensearch",
    }
)


def install(app: Flask, config: Config) -> None:
    """Register the ETag, Cache-Control and 304 hooks, then compression."""
    salt = hashlib.sha256(repr(config).encode()).hexdigest()[:12]  # settings change answers
    cache_control = f"public, max-age={max(0, config.http.max_age)}"

    @app.before_request
    def _not_modified() -> Response | None:
        if request.method not in ("GET", "HEAD") or request.endpoint not in CACHEABLE:
            return None
        index = app.extensions["searchsvc.index"]
        try:
            state = index.answer_state(index.searcher())
        except IndexUnavailable:
            return None  # the view answers 503 with the reason
        # The synonyms and pins in force too: they change answers without a new
        # generation. (Not the vocabulary's lag: its first build after a start would
        # change every ETag once.)
        validator = f"{salt}\0{state.synonyms}\0{state.pins}\0{request.full_path}"
        digest = hashlib.sha256(validator.encode()).hexdigest()[:20]
        g.etag = f"g{state.generation}-{digest}"
        if request.if_none_match.contains_weak(g.etag):
            response = Response(status=304)
            response.set_etag(g.etag, weak=True)
            response.headers["Cache-Control"] = cache_control
            response.headers["Vary"] = "Accept-Encoding"
            return response
        return None

    @app.after_request
    def _cache_headers(response: Response) -> Response:
        etag = g.get("etag")
        if etag and response.status_code == 200:
            response.set_etag(etag, weak=True)
            response.headers["Cache-Control"] = cache_control
        return response

    if config.http.compress:
        from flask_compress import Compress

        app.config.update(
            COMPRESS_ALGORITHM=["gzip"],
            COMPRESS_MIN_SIZE=config.http.compress_min_bytes,
            COMPRESS_MIMETYPES=[
                "application/json",
                "application/x-suggestions+json",
                "application/opensearchdescription+xml",
                "text/html",
                "text/css",
                "text/javascript",
                "text/plain",
            ],
            COMPRESS_STREAMS=False,
        )
        Compress(app)
