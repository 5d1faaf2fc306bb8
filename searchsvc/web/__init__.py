"""The HTTP layer: a Flask app factory and one blueprint per concern.

The app holds one SearchIndex (the search layer) and only translates HTTP to calls of it
and back. Run it under a production WSGI server: `searchsvc serve` (gunicorn).
"""

from __future__ import annotations

import re

from flask import Flask, Response, request

from searchsvc.config import Config, load_config
from searchsvc.index import SearchIndex
from searchsvc.web import errors, geo_view, operations
from searchsvc.web.admin import admin_bp
from searchsvc.web.api import events_bp, meta_bp, search_bp
from searchsvc.web.documents import documents_bp
from searchsvc.web.ui import ui_bp

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def create_app(config: Config | None = None, search: SearchIndex | None = None) -> Flask:
    """The WSGI application. `config` defaults to `load_config()` (file, environment)."""
    config = config or load_config()
    app = Flask(__name__, static_folder=None)
    app.url_map.merge_slashes = False  # ids are ids: "//x" is looked up, not redirected
    app.config["SEARCHSVC"] = config
    # Pushed documents may be as large as a content file (web/documents.py checks them).
    app.config["MAX_CONTENT_LENGTH"] = max(
        config.server.max_body_bytes, config.content.max_file_bytes
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["searchsvc.index"] = search or SearchIndex(config)
    errors.register(app)
    geo_view.register(app)
    for bp in (search_bp, events_bp, meta_bp, admin_bp, documents_bp, ui_bp):
        app.register_blueprint(bp)
    operations.install(app, config)  # access log, metrics, caching, probes, analytics

    @app.before_request
    def _limit_url() -> Response | None:
        if len(request.full_path.encode()) > config.server.max_url_bytes:
            return errors.error_response(
                414, f"request URL too long (limit {config.server.max_url_bytes} bytes)"
            )
        limit = config.server.max_body_bytes
        if request.path.startswith("/admin/documents/"):
            limit = config.content.max_file_bytes
        if request.content_length and request.content_length > limit:
            return errors.error_response(413, f"request body too large (limit {limit} bytes)")
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    if config.cors.origins:
        from flask_cors import CORS

        # The JSON API only; the pages are same-origin.
        api = r"^/(search|suggest|events/.*|health|stats|openapi\.json)$"
        CORS(app, resources={api: {"origins": exact_origins(config.cors.origins)}}, methods=["GET"])
    return app


def exact_origins(origins: tuple[str, ...]) -> list[str | re.Pattern[str]]:
    """The configured origins as flask-cors patterns that match only themselves.

    flask-cors reads an origin holding any of `*\\]?$^[]()` as a regular expression and
    matches it at the start only: `["https://news.example"]` (a JSON list read as one
    string) was a character class that let in every origin, `null` included, and
    `https://news\\.example` lets in `https://news.example.evil.example`. Here each origin
    is compared whole (case-insensitively, as hosts are); `*` alone means any origin.
    """
    return [
        "*" if origin == "*" else re.compile(re.escape(origin.rstrip("/")) + r"\Z", re.IGNORECASE)
        for origin in origins
    ]
