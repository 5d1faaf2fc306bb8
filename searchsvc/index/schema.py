"""The one place that defines what the index holds, and how a Document maps onto it.

Every import of Whoosh lives in this package (`searchsvc.index`), so a maintained fork
(e.g. `whoosh-reloaded`, same module name) can be swapped in by changing the dependency.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from whoosh import columns, fields
from whoosh.analysis import IDAnalyzer

from searchsvc.index.analysis import FastPositions, NewsAnalyzer
from searchsvc.model import Document

# Stemmed, stop-worded and accent-folded ("Tohoku" finds "Tōhoku").
TEXT_ANALYZER = NewsAnalyzer()
_EXACT = IDAnalyzer(lowercase=True)


class DAY(fields.DATETIME):
    """A date, indexed as a single term: dates are few (one per day), so range queries
    stay cheap without Whoosh's eight "tiered" terms per value."""

    def __init__(self) -> None:
        fields.NUMERIC.__init__(self, int, 64, shift_step=0)


TEXT_FIELDS = ("title", "summary", "body")
SCHEMA_VERSION = 3


def day_to_date(day: int) -> dt.date | None:
    return dt.date.fromordinal(day) if day > 0 else None


def _text() -> fields.TEXT:
    field = fields.TEXT(analyzer=TEXT_ANALYZER, phrase=True)
    field.format = FastPositions(field_boost=field.format.field_boost)
    return field


def make_schema() -> fields.Schema:
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        kind=fields.ID(analyzer=_EXACT),
        date=DAY(),
        # The date as a day number (0 when unknown), for sorting and year facets. Every
        # document has one: Whoosh 2.7 misreads a column whose last documents lack a value.
        day=fields.COLUMN(columns.NumericColumn("i", default=0)),
        title=_text(),
        summary=_text(),
        # The body, and for an event the words of the source texts that belong to it too.
        body=_text(),
        # Exact, case-insensitive labels: filters, facets and `tags:mali` queries.
        tags=fields.KEYWORD(lowercase=True, commas=True, scorable=True),
        locations=fields.KEYWORD(lowercase=True, commas=True, scorable=True),
        story=fields.ID(analyzer=_EXACT),
        # The ids an event's Related list links to (who links to whom, for "related").
        links=fields.KEYWORD(),
        category=fields.ID(analyzer=_EXACT),
        # Everything needed to render a hit or `show` a document without the file.
        doc=fields.STORED,
    )


def signature(schema: fields.Schema) -> list[tuple[str, ...]]:
    """What must match for an index to be read with this code (else: rebuild it)."""

    def name(obj: Any) -> str:
        return type(obj).__name__ if obj is not None else "-"

    return sorted(
        (
            n,
            name(f),
            name(getattr(f, "format", None)),
            name(getattr(f, "analyzer", None)),
            name(getattr(f, "column_type", None)),
            str(getattr(f, "stored", False)),
            str(getattr(f, "scorable", False)),
            str(getattr(f, "shift_step", "")),
        )
        for n, f in schema.items()
    )


def _keywords(values: list[str]) -> str:
    return ",".join(v.replace(",", " ") for v in values)


def _words(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def repeats_title(doc: Document) -> bool:
    """True when the summary only repeats the title (most event pages in the wild:
    "Story:Text." then "Text."). Such a summary is stored and shown, but indexed once,
    as the title: indexing it twice doubled the indexing work and counted the same words
    twice in the ranking."""
    summary = _words(doc.summary)
    return bool(summary) and summary in _words(doc.title)


def to_fields(doc: Document, source_text: str = "") -> dict[str, Any]:
    """The Whoosh fields for one Document (plus the words of its linked source texts)."""
    out: dict[str, Any] = {
        "id": doc.id,
        "kind": doc.kind,
        "title": doc.title,
        "summary": "" if repeats_title(doc) else doc.summary,
        "body": f"{doc.body}\n\n{source_text}" if source_text else doc.body,
        "tags": _keywords(doc.tags),
        "links": [r.id for r in doc.related],
        "locations": _keywords(doc.locations),
        "doc": json.dumps(doc.to_dict(), ensure_ascii=False, separators=(",", ":")),
    }
    out["day"] = doc.date.toordinal() if doc.date else 0
    if doc.date is not None:
        out["date"] = dt.datetime(doc.date.year, doc.date.month, doc.date.day)
    if doc.story:
        out["story"] = doc.story
    if doc.category:
        out["category"] = doc.category
    return out


def stored_document(stored: dict[str, Any]) -> Document:
    return Document.from_dict(json.loads(stored["doc"]))


def stored_dict(stored: dict[str, Any]) -> dict[str, Any]:
    return json.loads(stored["doc"])
