"""What an operator runs the service with, as Flask hooks and endpoints, in one place:

- request ids and the access log (`accesslog.py`),
- Prometheus metrics at /metrics (`metrics.py`),
- ETags, Cache-Control, 304 and gzip for the public answers (`caching.py`),
- /livez and /readyz (`probes.py`),
- search analytics and the editors' report (`editors.py`).

`install` is called once by the app factory; `openapi_paths` by the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from searchsvc.config import Config
from searchsvc.web import accesslog, caching, editors, metrics, probes


def install(app: Flask, config: Config) -> None:
    # After-request hooks run in the reverse order of their registration: the access log
    # and the metrics are registered first so that they see the final answer (compressed,
    # with its headers), and compression last.
    accesslog.install(app, config)
    metrics.install(app, config)
    editors.install(app, config)
    app.register_blueprint(probes.probes_bp)
    caching.install(app, config)


def openapi_paths(responses: Any) -> dict[str, Any]:
    """The path items of the endpoints above. `responses(ok_schema, *statuses)` is the
    OpenAPI document's builder of a JSON operation's responses (the errors any request can
    get included)."""

    def errors(*statuses: int) -> dict[str, Any]:
        return {k: v for k, v in responses({}, *statuses).items() if k != "200"}

    return {
        **probes.openapi_paths(responses),
        **metrics.openapi_paths(errors),
        **editors.openapi_paths(errors),
    }
