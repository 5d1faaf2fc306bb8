"""The document model every stage shares: parsing produces it, the index stores it,
the search layer and the HTTP layer return it.

Nothing here knows about files, Whoosh or Flask.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["event", "source"]
KINDS: tuple[Kind, ...] = ("event", "source")
SOURCE_ONLY = ("url", "publisher", "event")  # keys only a source text's JSON has


@dataclass(frozen=True, slots=True)
class SourceRef:
    """One entry of an event's Source list: the outlet, and its URL when the page links it."""

    name: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class RelatedLink:
    """One entry of an event's Related list: another event and what the two share."""

    id: str
    title: str
    context: tuple[str, ...] = ()


@dataclass(slots=True)
class Document:
    """An event page or a source text, parsed.

    `id` is the file's path relative to the content root, with `/` separators.
    """

    id: str
    kind: Kind
    title: str
    date: dt.date | None = None
    story: str | None = None
    summary: str = ""
    body: str = ""
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    sources: list[SourceRef] = field(default_factory=list)
    related: list[RelatedLink] = field(default_factory=list)
    # Source texts only (SOURCE_ONLY): where the article was published, and the event it
    # reports on.
    url: str | None = field(default=None, metadata={"doc": "where the article was published"})
    publisher: str | None = None
    event: str | None = field(default=None, metadata={"doc": "the event it reports on"})

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape (`searchsvc show --json`, `GET /events/<id>`)."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "date": self.date.isoformat() if self.date else None,
            "title": self.title,
            "story": self.story,
            "summary": self.summary,
            "body": self.body,
            "category": self.category,
            "tags": list(self.tags),
            "locations": list(self.locations),
            "sources": [{"name": s.name, "url": s.url} for s in self.sources],
            "related": [
                {"id": r.id, "title": r.title, "context": list(r.context)} for r in self.related
            ],
        }
        if self.kind == "source":
            out.update({name: getattr(self, name) for name in SOURCE_ONLY})
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        """The inverse of `to_dict`."""
        date = data.get("date")
        return cls(
            id=data["id"],
            kind=data["kind"],
            title=data["title"],
            date=dt.date.fromisoformat(date) if date else None,
            story=data.get("story"),
            summary=data.get("summary", ""),
            body=data.get("body", ""),
            category=data.get("category"),
            tags=list(data.get("tags", [])),
            locations=list(data.get("locations", [])),
            sources=[SourceRef(s["name"], s.get("url")) for s in data.get("sources", [])],
            related=[
                RelatedLink(r["id"], r["title"], tuple(r.get("context", ())))
                for r in data.get("related", [])
            ],
            url=data.get("url"),
            publisher=data.get("publisher"),
            event=data.get("event"),
        )


@dataclass(frozen=True, slots=True)
class Label:
    """A document attribute that readers filter by (and may count in facets or be offered
    as completions). Declared once, here: the index schema, the filters, the facets, the
    request parameters, the OpenAPI document, the CLI flags and the page follow from it.
    Adding one is this declaration and the parser that fills the attribute."""

    name: str  # the Document attribute, the index field and the facet
    param: str  # the filter parameter (`tag=`), the CLI flag and the completion kind
    multi: bool  # a list of values (tags) or one value or None (story)
    facet: bool  # counted over the result set in /search's facets
    suggest: bool  # offered as a completion by /suggest
    help: str  # what a filter by it keeps, for the API description and --help
    word: str  # one value's name to a reader: "place"
    heading: str  # the facet's heading on the page: "Places"

    def values(self, doc: Document | dict[str, Any]) -> list[str]:
        """The document's values of this label (a Document, or its `to_dict` form)."""
        value = doc.get(self.name) if isinstance(doc, dict) else getattr(doc, self.name)
        if self.multi:
            return list(value or [])
        return [value] if value else []


LABELS: tuple[Label, ...] = (
    Label("tags", "tag", multi=True, facet=True, suggest=True,
          help="documents with this tag", word="tag", heading="Tags"),
    Label("locations", "location", multi=True, facet=True, suggest=True,
          help="documents with this location", word="place", heading="Places"),
    Label("story", "story", multi=False, facet=False, suggest=True,
          help="documents of this story", word="story", heading="Stories"),
    Label("category", "category", multi=False, facet=True, suggest=True,
          help="documents of this category", word="category", heading="Categories"),
)  # fmt: skip


def label(name: str) -> Label:
    """The label of this name (a Document attribute)."""
    return next(lb for lb in LABELS if lb.name == name)


@dataclass(frozen=True, slots=True)
class DayPage:
    """A day page (`news/YYYY/MM/DD/index.md`): recognised, never indexed as an event."""

    id: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that could not be used, and why (shown in the index report)."""

    id: str
    reason: str


ParseResult = Document | DayPage | Skipped
