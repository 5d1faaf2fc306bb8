"""The one place that defines what the index holds, and how a Document maps onto it.

Every import of Whoosh lives in this package (`searchsvc.index`), so a maintained fork
(e.g. `whoosh-reloaded`, same module name) can be swapped in by changing the dependency.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from whoosh import columns, fields, formats
from whoosh import query as wq
from whoosh.analysis import IDAnalyzer

from searchsvc.index.analysis import FastPositions, NewsAnalyzer
from searchsvc.model import LABELS, Document, Label
from searchsvc.params import parse_date_bound
from searchsvc.parsing.places import locate

# Stemmed, stop-worded and accent-folded ("Tohoku" finds "Tōhoku").
TEXT_ANALYZER = NewsAnalyzer()
_EXACT = IDAnalyzer(lowercase=True)


class DATE(fields.FieldType):
    """A date, indexed as three terms: its year, month and day ("2013", "2013-01",
    "2013-01-21"). In queries (`date:2013`, `date:2013-01-21`, `date:[2012-06 to 2013]`)
    it is a DayRange: any width of range is one comparison of the day table per document,
    where a union of day terms grew with the width (and Whoosh's matcher for a union of
    1,024 terms or more dropped documents)."""

    def __init__(self) -> None:
        self.format = formats.Existence()
        self.analyzer = IDAnalyzer()
        self.scorable = False
        self.stored = False
        self.unique = False
        self.set_sortable(False)

    def index(self, value: Any, **kwargs: Any) -> Any:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        for term in (f"{day.year:04d}", f"{day.year:04d}-{day.month:02d}", day.isoformat()):
            yield term.encode("utf-8"), 1, 1.0, b""

    def self_parsing(self) -> bool:
        return True

    def parse_query(self, fieldname: str, qstring: str, boost: float = 1.0) -> Any:
        from whoosh.qparser.common import QueryParserError

        try:
            start = parse_date_bound(qstring, False, fieldname)
            end = parse_date_bound(qstring, True, fieldname)
        except ValueError as exc:
            raise QueryParserError(f"{fieldname}:{qstring}: {exc}") from None
        return DayRange(fieldname, start, end)

    def parse_range(
        self,
        fieldname: str,
        start: str | None,
        end: str | None,
        startexcl: bool,
        endexcl: bool,
        boost: float = 1.0,
    ) -> Any:
        from whoosh.qparser.common import QueryParserError

        try:
            first = parse_date_bound(start, False, fieldname) if start else dt.date.min
            last = parse_date_bound(end, True, fieldname) if end else dt.date.max
        except ValueError as exc:
            raise QueryParserError(f"{fieldname}:[{start} to {end}]: {exc}") from None
        if startexcl:
            first = dt.date.fromordinal(min(first.toordinal() + 1, dt.date.max.toordinal()))
        if endexcl:
            last = dt.date.fromordinal(max(last.toordinal() - 1, 1))
        return DayRange(fieldname, first, last)


class DayRange(wq.Query):
    """Documents dated from `start` to `end`, inclusive. It never adds to a score. The
    search layer matches it from its day table (tables.py); as a Whoosh matcher (for
    anything else that runs it), from the `day` column."""

    def __init__(self, fieldname: str, start: dt.date, end: dt.date) -> None:
        self.fieldname = fieldname
        self.start = start
        self.end = end
        self.boost = 0.0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DayRange) and (other.fieldname, other.start, other.end) == (
            self.fieldname,
            self.start,
            self.end,
        )

    def __hash__(self) -> int:
        return hash((DayRange, self.fieldname, self.start, self.end))

    def __repr__(self) -> str:
        return f"DayRange({self.fieldname!r}, {self.start}, {self.end})"

    def is_leaf(self) -> bool:
        return True

    def field(self) -> str:
        return self.fieldname

    def estimate_size(self, ixreader: Any) -> int:
        return ixreader.doc_count()

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        from whoosh.matching import ListMatcher

        reader = searcher.reader()
        lo, hi = self.start.toordinal(), self.end.toordinal()
        days = reader.column_reader("day") if reader.has_column("day") else None
        found = [
            d
            for d in range(reader.doc_count_all())
            if days is not None and lo <= days[d] <= hi and not reader.is_deleted(d)
        ]
        return ListMatcher(found, all_weights=0.0)


TEXT_FIELDS = ("title", "summary", "body")
SCHEMA_VERSION = 8  # 7: places (the locations' kinds and coordinates); 8: hits stored apart

# What a hit shows is stored apart from the rest of the document (field `hit`): a page of
# hits decodes these keys and the start of the body (where its snippet is looked for),
# not the sources, the Related list or the rest of a long body, which only
# `GET /events/<id>` returns. The two parts are disjoint: together they are the document.
# Every label is in a hit (facet spellings, completions and the page read them there).
_HEAD = ("id", "kind", "date", "title", "story", "summary")
HIT_KEYS = (*_HEAD, *(lb.name for lb in LABELS if lb.name not in _HEAD))
SNIPPET_SCAN_CHARS = 3000  # the start of the body a snippet is looked for in
_DICT_ORDER = (*_HEAD, "body", "category", "tags", "locations", "sources", "related")


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
        date=DATE(),
        # The date as a day number (0 when unknown), for sorting and year facets. Every
        # document has one: Whoosh 2.7 misreads a column whose last documents lack a value.
        day=fields.COLUMN(columns.NumericColumn("i", default=0)),
        title=_text(),
        summary=_text(),
        # The body, and for an event the words of the source texts that belong to it too.
        body=_text(),
        # The ids an event's Related list links to (who links to whom, for "related").
        links=fields.KEYWORD(),
        # Each location's kind and coordinates, resolved when indexed (place_terms): the
        # geographic filters and the map read them from here, never from the gazetteer.
        places=fields.KEYWORD(commas=True),
        # Everything needed to render a hit (`hit`) or `show` a document (`hit` and `doc`)
        # without the file.
        hit=fields.STORED,
        doc=fields.STORED,
        **{lb.name: label_field(lb) for lb in LABELS},
    )


def label_field(lb: Label) -> fields.FieldType:
    """A label's field: exact, case-insensitive values, for filters, facets and queries
    such as `tags:mali`. A list is a comma-separated keyword field, scored (`tags:mali`
    ranks like a word); one value is one term."""
    if lb.multi:
        return fields.KEYWORD(lowercase=True, commas=True, scorable=True)
    return fields.ID(analyzer=_EXACT)


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


def label_key(value: str, multi: bool = True) -> str:
    """A label's value as the index keys it: lowercase; in a list (tags, locations) a
    comma is the separator of the field, so one inside a value becomes a space. Filters
    and facets key alike."""
    return value.replace(",", " ").strip().lower() if multi else value.lower()


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
    """The Whoosh fields for one Document (plus the words of its linked source texts).
    Empty fields are left out: each field given costs Whoosh time even when empty."""
    body = f"{doc.body}\n\n{source_text}" if source_text else doc.body
    fields_: dict[str, Any] = {
        "id": doc.id,
        "kind": doc.kind,
        "title": doc.title,
        "summary": "" if repeats_title(doc) else doc.summary,
        "body": body,
        "links": [r.id for r in doc.related],
        "date": doc.date,
        "places": ",".join(place_terms(doc.locations)),
        **{
            lb.name: _keywords(lb.values(doc)) if lb.multi else getattr(doc, lb.name)
            for lb in LABELS
        },
    }
    out = {k: v for k, v in fields_.items() if v}
    out["day"] = doc.date.toordinal() if doc.date else 0
    data = doc.to_dict()
    body = data.pop("body")
    hit = {k: data.pop(k) for k in HIT_KEYS}
    hit["body"], data["more_body"] = body[:SNIPPET_SCAN_CHARS], body[SNIPPET_SCAN_CHARS:]
    out["hit"] = _json(hit)
    out["doc"] = _json(data)
    return out


def place_terms(locations: list[str]) -> list[str]:
    """A term per location the gazetteer knows: `key|kind|lat|lon` (the key as the
    locations label keys it; lat and lon empty when unknown). Read back by tables.py."""
    out = []
    for name in locations:
        point = locate(name)
        if point is not None:
            lat = "" if point.lat is None else f"{point.lat:.4f}"
            lon = "" if point.lon is None else f"{point.lon:.4f}"
            out.append(f"{label_key(name)}|{point.kind}|{lat}|{lon}")
    return out


def parse_place_term(term: str) -> tuple[str, str, float | None, float | None]:
    """The inverse of place_terms for one term: key, kind, lat, lon."""
    key, kind, lat, lon = term.rsplit("|", 3)
    return key, kind, float(lat) if lat else None, float(lon) if lon else None


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def stored_document(stored: dict[str, Any]) -> Document:
    return Document.from_dict(stored_dict(stored))


def stored_hit(stored: dict[str, Any]) -> dict[str, Any]:
    """What a hit shows (the keys of HIT_KEYS), with the first SNIPPET_SCAN_CHARS of the
    body: all that a page of hits, the re-ranking and the completions read."""
    return json.loads(stored["hit"])


def stored_dict(stored: dict[str, Any]) -> dict[str, Any]:
    """The whole document, as `Document.to_dict` gives it."""
    data = json.loads(stored["hit"]) | json.loads(stored["doc"])
    data["body"] += data.pop("more_body")
    order = (*_DICT_ORDER, *(k for k in data if k not in _DICT_ORDER))
    return {k: data[k] for k in order if k in data}
