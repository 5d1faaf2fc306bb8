"""Event pages: a dated heading, a `# ` title, a summary, `### Source:` and `### Related:`.

See docs/content-format.md (in ../shared) and tests/test_parse_events.py for the cases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from searchsvc.model import Document, RelatedLink, SourceRef
from searchsvc.parsing.text import (
    BadFile,
    as_list,
    as_text,
    clean,
    date_from_path,
    dedupe,
    paragraphs,
    parse_date,
    plain,
    shorten,
)

_HEADING = re.compile(r"^(#{1,6})\s*(.*?)\s*#*\s*$")
_DATED = re.compile(r"^\[([^\]]+)\]\(([^)]*)\)$")
_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+(.*\S)\s*$")
_LINK = re.compile(r"^\[(?P<text>.*)\]\((?P<href>[^)\s]*)\)\s*(?P<rest>.*)$")
_CONTEXT = re.compile(r"[_*]Context:\s*(.*?)[_*]?\s*$", re.I)
_SECTION_SOURCES = ("source", "sources")
_SECTION_RELATED = ("related", "related events", "see also")
_CODE_TAIL = re.compile(r"^(\d|[A-Z]\d)")  # 10:30, 3:1, O104:H4
_VERBS = frozenset(
    ["is", "are", "was", "were", "has", "have", "had", "says", "said", "will", "would"]
)
_TRAILING = frozenset(
    ["a", "an", "the", "of", "to", "in", "on", "at", "for", "by", "with", "and", "or", "from", "as"]
)


def is_dated_heading(line: str) -> bool:
    """True for a line like `### [2013-01-21](/news/2013/01/21/index.md)`."""
    m = _HEADING.match(line.strip())
    return bool(m and _DATED.match(m[2]))


@dataclass
class _Page:
    """An event page's Markdown read section by section (`_read`), before any cleaning."""

    title: str | None  # the front matter's, or the first level-1 heading's
    heading_date: str | None = None  # a dated heading above the title: "### [2013-01-21](...)"
    summary: list[str] = field(default_factory=list)  # lines before the first section
    body: list[str] = field(default_factory=list)
    sources: list[SourceRef] = field(default_factory=list)
    related: list[RelatedLink] = field(default_factory=list)


def _read(content: str, title: str | None) -> _Page:
    page = _Page(title)
    section = "summary"  # before any heading, text counts as summary
    seen_title = title is not None
    for raw in content.split("\n"):
        line = raw.rstrip()
        m = _HEADING.match(line)
        if m:
            level, text = len(m[1]), m[2]
            dated = _DATED.match(text)
            if dated and page.heading_date is None and not page.summary and not seen_title:
                page.heading_date = dated[1]
                continue
            if level == 1 and not seen_title:
                page.title, seen_title, section = clean(plain(text)), True, "summary"
                page.summary = []
                continue
            name = text.rstrip(":").strip().lower()
            if name in _SECTION_SOURCES:
                section = "sources"
            elif name in _SECTION_RELATED:
                section = "related"
            else:
                section = "body"
                page.body.append(clean(plain(text)))
            continue
        if section in ("sources", "related"):
            item = _ITEM.match(line)
            if item and section == "sources":
                page.sources.append(_source(item[1]))
            elif item and (link := _related(item[1])) is not None:
                page.related.append(link)
        elif section == "summary":
            page.summary.append(line)
        else:
            page.body.append(line)
    return page


def parse_event(
    doc_id: str, meta: dict[str, Any], content: str, find_places: Callable[..., list[str]]
) -> Document:
    """An event page's Document. Raises BadFile for a date that is no date."""
    page = _read(content, as_text(meta.get("title")))
    summary = "\n\n".join(paragraphs(plain("\n".join(page.summary))))
    body = "\n\n".join(paragraphs(plain("\n".join(page.body))))
    title = page.title
    if not title:
        # Front matter with a date but no heading: the summary's lead stands in.
        title = shorten(summary.split("\n")[0]) if summary else _title_from_id(doc_id)
    title = clean(title)

    if meta.get("date") is not None:
        date = parse_date(meta["date"], "front matter 'date'")
    elif page.heading_date is not None:
        date = parse_date(page.heading_date, "the dated heading")
    else:
        date = date_from_path(doc_id)

    context_terms = [term for link in page.related for term in link.context]
    fm_tags = as_list(meta.get("tags"))
    story = story_of(title, fm_tags + context_terms)
    tags = dedupe(fm_tags + ([story] if story else []) + context_terms)
    places = find_places(texts=[title, summary, body], tags=tags)
    return Document(
        id=doc_id,
        kind="event",
        title=title,
        date=date,
        story=story,
        summary=summary,
        body=body,
        category=as_text(meta.get("category")),
        tags=tags,
        locations=dedupe(as_list(meta.get("locations")) + places),
        sources=page.sources,
        related=page.related,
    )


def story_of(title: str, known_tags: list[str]) -> str | None:
    """The running story a title names before its first colon, if it names one.

    `Northern Mali conflict:French and ...` names "Northern Mali conflict". A colon in a
    time or code (`10:30`, `O104:H4`) does not; neither does a prefix that reads as a
    sentence ("Six officers are charged with: ...") unless a tag confirms it.
    """
    head, colon, rest = title.partition(":")
    head = head.strip()
    if not colon or not head or not rest.strip():
        return None
    if head[-1].isdigit() and _CODE_TAIL.match(rest):
        return None
    if head.casefold() in {t.casefold() for t in known_tags}:
        return head
    words = head.split()
    if len(words) > 9 or len(head) > 90 or ". " in head:
        return None
    if any(w.lower() in _VERBS for w in words) or words[-1].lower() in _TRAILING:
        return None
    return head


def _source(text: str) -> SourceRef:
    m = _LINK.match(text)
    if m:
        return SourceRef(clean(plain(m["text"])) or m["href"], m["href"] or None)
    return SourceRef(clean(plain(text)))


def _related(text: str) -> RelatedLink | None:
    m = _LINK.match(text)
    if not m or not m["href"]:
        return None
    context: tuple[str, ...] = ()
    c = _CONTEXT.search(m["rest"])
    if c:
        context = tuple(dedupe([clean(t) for t in c[1].split(",") if clean(t)]))
    return RelatedLink(id=link_target(m["href"]), title=clean(plain(m["text"])), context=context)


def link_target(href: str) -> str:
    """A link's target as a document id: `/news/2013/01/21/x.md` -> `news/2013/01/21/x.md`.

    Links that leave the site (with a scheme or host) are kept as they are.
    """
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return href
    path = unquote(parts.path)
    segments = [s for s in path.split("/") if s not in ("", ".")]
    if ".." in segments:
        return path
    return "/".join(segments)


def _title_from_id(doc_id: str) -> str:
    stem = doc_id.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    words = stem.replace("-", " ").replace("_", " ").strip()
    return shorten(words[:1].upper() + words[1:]) if words else doc_id


__all__ = ["BadFile", "is_dated_heading", "link_target", "parse_event", "story_of"]
