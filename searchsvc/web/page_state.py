"""What the search page says it shows: its heading, title and description, the active
filters as removable chips, the sort options that are true for the page, and titles with
their story prefix set apart. Plain functions of the request's parameters and the result,
so that the template only lays them out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from searchsvc.model import LABELS
from searchsvc.query import FILTER_PARAMS

# How a parameter is named to a reader.
PARAM_WORDS = {
    **{lb.param: lb.word.capitalize() for lb in LABELS},
    "kind": "Kind",
    "from": "From",
    "to": "To",
}
# The facets the page lists, in order: (facet, heading, filter parameter, a value's name).
FACET_LIST = [
    ("year", "Year", None, "year"),
    *((lb.name, lb.heading, lb.param, lb.word) for lb in LABELS if lb.facet),
    ("kind", "Kind", "kind", "kind"),
]
DESCRIPTION_CHARS = 155  # what search engines show of a description


@dataclass(frozen=True)
class Chip:
    """An active filter: what it says, and the parameters to remove with it."""

    label: str  # "Tag: Mali", "Year: 2013"
    remove: tuple[tuple[str, str], ...]  # (param, value) pairs


def chips(args: dict[str, list[str]]) -> list[Chip]:
    """The active filters in the order of FILTER_PARAMS; a year (from and to the same
    four digits, as the year facet sets them) is one chip."""
    out = []
    start, end = args.get("from", []), args.get("to", [])
    year = start[0] if start == end and len(start) == 1 and re.fullmatch(r"\d{4}", start[0]) else ""
    if year:
        out.append(Chip(f"Year: {year}", (("from", year), ("to", year))))
    for key in FILTER_PARAMS:
        if year and key in ("from", "to"):
            continue
        for value in args.get(key, []):
            if value:
                out.append(Chip(f"{PARAM_WORDS.get(key, key)}: {value}", ((key, value),)))
    return out


def is_active(args: dict[str, list[str]], key: str, value: str) -> bool:
    """Whether a facet value is one of the page's filters (labels compare as the index
    keys them: without case)."""
    if key == "year":
        return args.get("from") == [value] and args.get("to") == [value]
    return value.lower() in {v.lower() for v in args.get(key, [])}


def sort_options(q: str, sort: str) -> tuple[list[tuple[str, str]], str]:
    """The sort links the page offers and the one in force. Without a query there is no
    relevance: browsing lists the newest first, and says so."""
    if q:
        return [("relevance", "relevance"), ("-date", "newest"), ("date", "oldest")], sort
    return [("-date", "newest"), ("date", "oldest")], ("date" if sort == "date" else "-date")


def heading(q: str, active: list[Chip]) -> str:
    if q:
        return f"Results for “{q}”"
    if active:
        return "News " + ", ".join(c.label.replace(": ", " ", 1) for c in active)
    return "Latest news"


def title(q: str, active: list[Chip], page: int) -> str:
    """The document title: the query or the filters, the page number past the first."""
    parts = [q] if q else [c.label for c in active]
    text = " · ".join(parts)
    if page > 1:
        text = f"{text} – page {page}" if text else f"Page {page}"
    return f"{text} – News search" if text else "News search"


def description(q: str, active: list[Chip], total: int | None) -> str:
    """The meta description: the query, the filters and the total."""
    if total is None:
        return "Search the news: events and the sources behind them."
    what = f"“{q}”" if q else "the news"
    filters = f", {', '.join(c.label for c in active)}" if active else ""
    count = f"{total:,} {'result' if total == 1 else 'results'}"
    return f"{count} for {what}{filters}: events and the sources behind them."


def summary_text(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """A description cut at a word before `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


# "Story:Title" as the content writes it: a prefix without digits right before the colon
# (not a time, "10:30"), a letter right after (not a URL, "http://").
_PREFIX = re.compile(r"^([^:\n]{2,100}?[^\d\s:]):(?=[^\W\d_]|[\"“‘'(])")


def story_title(title: str, story: str | None = None) -> tuple[str, str]:
    """A title split into its story prefix ("" when none) and the rest, for display as
    "Story: Title"; the stored text is unchanged."""
    if story and title.lower().startswith(story.lower() + ":"):
        return title[: len(story)], title[len(story) + 1 :].lstrip()
    m = _PREFIX.match(title)
    if m and ": " not in m.group(1):
        return m.group(1), title[m.end() :].lstrip()
    return "", title


def display_title(title: str, story: str | None = None) -> str:
    prefix, rest = story_title(title, story)
    return f"{prefix}: {rest}" if prefix else title


def template_helpers() -> dict[str, Any]:
    return {"story_title": story_title, "display_title": display_title}
