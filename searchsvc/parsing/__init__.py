"""Content files -> parsed documents. Knows nothing of the index.

`classify` says what a path holds by the configured globs; `parse_file` turns a file into
a Document, a DayPage, or a Skipped with the reason. Parsing never raises.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

from searchsvc.model import DayPage, Document, ParseResult, Skipped
from searchsvc.parsing.events import is_dated_heading, parse_event
from searchsvc.parsing.places import find_places
from searchsvc.parsing.sources import parse_source
from searchsvc.parsing.text import BadFile, decode, read_text, split_front_matter

log = logging.getLogger(__name__)

Role = Literal["event", "source", "day", "sniff"]


@lru_cache(maxsize=64)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob with `**` (any number of directories), `*` and `?`, as a regex on ids."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(doc_id: str, globs: Sequence[str]) -> bool:
    return any(_glob_regex(g).match(doc_id) for g in globs)


def classify(
    doc_id: str, event_globs: Sequence[str], source_globs: Sequence[str], day_globs: Sequence[str]
) -> Role:
    if matches(doc_id, day_globs):
        return "day"
    if matches(doc_id, event_globs):
        return "event"
    if matches(doc_id, source_globs):
        return "source"
    return "sniff"


def parse_file(
    path: Path,
    root: Path,
    doc_id: str,
    role: Role,
    max_bytes: int = 2_000_000,
    places: Callable[..., list[str]] = find_places,
) -> ParseResult:
    """Parse one content file. Never raises: a bad file comes back as Skipped."""
    try:
        text = read_text(path, root, max_bytes)
        return parse_text(doc_id, text, role, places)
    except BadFile as exc:
        return Skipped(doc_id, str(exc))
    except Exception as exc:  # a parser bug must not stop an index run
        log.exception("unexpected error parsing %s", doc_id)
        return Skipped(doc_id, f"could not parse: {type(exc).__name__}: {exc}")


def parse_bytes(doc_id: str, data: bytes, role: Role = "sniff") -> ParseResult:
    """Parse content given as bytes (for tests and fuzzing). Never raises."""
    try:
        return parse_text(doc_id, decode(data), role)
    except BadFile as exc:
        return Skipped(doc_id, str(exc))
    except Exception as exc:
        log.exception("unexpected error parsing %s", doc_id)
        return Skipped(doc_id, f"could not parse: {type(exc).__name__}: {exc}")


def parse_text(
    doc_id: str, text: str, role: Role, places: Callable[..., list[str]] = find_places
) -> Document | DayPage:
    """Parse decoded text; raises BadFile for unusable content."""
    meta, content = split_front_matter(text)
    if role == "day":
        return DayPage(doc_id)
    if role == "sniff":
        role = "event" if _first_heading_is_dated(content) else "source"
    if role == "event":
        if not meta and not content.strip():
            raise BadFile("empty file")
        return parse_event(doc_id, meta, content, places)
    if not content.strip() and not meta.get("title"):
        raise BadFile("empty file (front matter only)")
    return parse_source(doc_id, meta, content, places)


def _first_heading_is_dated(content: str) -> bool:
    for line in content.split("\n"):
        if line.lstrip().startswith("#"):
            return is_dated_heading(line)
    return False


__all__ = ["BadFile", "classify", "matches", "parse_bytes", "parse_file", "parse_text"]
