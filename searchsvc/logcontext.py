"""The request id in log lines.

The web layer sets `request_id` for the duration of a request (`searchsvc/web/accesslog.py`);
every log record then carries it as `request_tag` (` [<id>]`, empty outside a request), so
the format of `searchsvc`'s log lines (`cli.py`) names the request a line belongs to.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

request_id: ContextVar[str] = ContextVar("searchsvc_request_id", default="")
_installed = False


def install() -> None:
    """Give every log record `request_id` and `request_tag` (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        rid = request_id.get()
        record.request_id = rid or "-"
        record.request_tag = f" [{rid}]" if rid else ""
        return record

    logging.setLogRecordFactory(factory)
