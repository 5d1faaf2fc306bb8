"""Reading a content file safely, splitting front matter, and small text helpers."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler


class BadFile(Exception):
    """The file cannot be used; the message is the reason shown to the user."""


def read_text(path: Path, root: Path, max_bytes: int) -> str:
    """The file's text, or BadFile with a reason a site owner can act on."""
    try:
        if path.is_symlink():
            target = Path(os.path.realpath(path))
            if not target.exists():
                raise BadFile("dangling symbolic link")
            if not target.is_relative_to(root.resolve()):
                raise BadFile("symbolic link leads outside the content root")
        size = path.stat().st_size
        if size > max_bytes:
            raise BadFile(f"too large: {size} bytes (limit {max_bytes})")
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadFile("file vanished while indexing") from None
    except PermissionError:
        raise BadFile("permission denied") from None
    except IsADirectoryError:
        raise BadFile("is a directory") from None
    except OSError as exc:
        raise BadFile(f"cannot read: {exc.strerror or exc}") from None
    return decode(data)


def decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise BadFile("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadFile(
            f"not UTF-8: invalid byte 0x{data[exc.start]:02x} at offset {exc.start}"
        ) from None
    if not text.strip():
        raise BadFile("empty file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


# libyaml's loader when PyYAML has it (ten times faster), the pure-Python one otherwise.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _PlainLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """A safe loader that leaves dates as strings, so we can report impossible ones."""


_PlainLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Handler(YAMLHandler):
    def load(self, fm: str, **kwargs: Any) -> Any:
        return yaml.load(fm, Loader=_PlainLoader)


_HANDLER = _Handler()
_FM_START = re.compile(r"\A---[ \t]*\n")


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(metadata, content). Text without front matter gives ({}, text)."""
    if not _FM_START.match(text):
        return {}, text
    try:
        fm, content = _HANDLER.split(text)
    except ValueError:
        raise BadFile("broken front matter: no closing '---' line") from None
    try:
        meta = _HANDLER.load(fm)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        at = f" (line {where.line + 2})" if where is not None else ""
        raise BadFile(f"broken front matter: {problem}{at}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise BadFile("broken front matter: expected 'key: value' lines")
    return meta, content


_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][0-9:.+\-Z ]*)?\s*$")


def parse_date(value: Any, what: str) -> dt.date:
    """An ISO date (time part ignored), or BadFile naming `what` and the value."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    m = _ISO_DATE.match(str(value))
    if not m:
        raise BadFile(f"{what} is not a date: {str(value)[:40]!r}")
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise BadFile(f"impossible date in {what}: {str(value).strip()[:40]!r}") from None


_PATH_DATE = re.compile(r"(?:^|/)(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:/|$|-)")


def date_from_path(doc_id: str) -> dt.date | None:
    m = _PATH_DATE.search(doc_id)
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise BadFile(f"impossible date in path: {m[0].strip('/-')!r}") from None


def as_list(value: Any) -> list[str]:
    """Front matter `tags`/`locations`: a YAML list or a comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = [value]
    return [clean(str(i)) for i in items if i is not None and clean(str(i))]


def as_text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = clean(str(value))
    return text or None


def clean(text: str) -> str:
    """Collapse runs of whitespace; strip."""
    return " ".join(text.split())


def dedupe(items: list[str]) -> list[str]:
    """Case-insensitive de-duplication, first spelling wins, order kept."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.casefold()
        if item and key not in seen:
            seen.add(key)
            out.append(item)
    return out


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPH = re.compile(r"(\*{1,3}|_{1,3}|`+)(?=\S)(.+?)(?<=\S)\1")
_MD_HEADING = re.compile(r"^#{1,6}\s*", re.M)


def plain(markdown: str) -> str:
    """Markdown inline markup to plain text: links to their text, emphasis dropped."""
    if not any(c in markdown for c in "[*_`#"):
        return markdown
    text = _MD_LINK.sub(r"\1", markdown)
    text = _MD_EMPH.sub(r"\2", text)
    return _MD_HEADING.sub("", text)


def paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks, each with its whitespace collapsed."""
    return [clean(p) for p in re.split(r"\n\s*\n", text) if p.strip()]


def shorten(text: str, limit: int = 100) -> str:
    """Cut at a word boundary, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"
