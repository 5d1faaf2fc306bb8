"""What a search asks and what it answers, independent of Whoosh and of HTTP.

The HTTP layer and the command line turn their input into a SearchRequest with
`request_from_params` (which validates everything a client can send) and get back
plain data to serialise.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any, Literal

from searchsvc.config import SearchConfig
from searchsvc.model import KINDS

Sort = Literal["relevance", "date", "-date"]
SORTS: tuple[Sort, ...] = ("relevance", "date", "-date")
REPEATABLE_PARAMS = ("tag", "location", "kind", "story")  # each value must match
FILTER_PARAMS = (*REPEATABLE_PARAMS, "from", "to")
MAX_FILTER_VALUES = 20
MAX_FILTER_CHARS = 200
MAX_SUGGEST = 20  # completions per request
MAX_SUGGEST_CHARS = 100
SUGGEST_FORMATS = ("json", "opensearch")
MAX_RELATED = 50


class QueryError(ValueError):
    """A request that cannot be answered as asked; the message says what is wrong."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class Filters:
    tags: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    stories: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def __bool__(self) -> bool:
        return any(asdict(self).values())


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    filters: Filters = field(default_factory=Filters)
    sort: Sort = "relevance"
    page: int = 1
    per_page: int = 10


@dataclass(frozen=True)
class SuggestRequest:
    q: str = ""
    limit: int = 8
    format: str = "json"


@dataclass
class Hit:
    id: str
    kind: str
    title: str
    date: str | None
    story: str | None
    tags: list[str]
    locations: list[str]
    snippet: str
    score: float | None
    shared: list[str] | None = None  # related events: the tags shared with the document

    @classmethod
    def from_stored(
        cls, data: dict[str, Any], snippet: str, score: float | None, **extra: Any
    ) -> Hit:
        """A hit from a stored document (the keys of `Document.to_dict`)."""
        return cls(
            id=data["id"],
            kind=data["kind"],
            title=data["title"],
            date=data.get("date"),
            story=data.get("story"),
            tags=data.get("tags", []),
            locations=data.get("locations", []),
            snippet=snippet,
            score=score,
            **extra,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "date": self.date,
            "story": self.story,
            "tags": self.tags,
            "locations": self.locations,
            "snippet": self.snippet,
            "score": self.score,
        }
        if self.shared is not None:
            out["context"] = self.shared
        return out


@dataclass
class SearchResult:
    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit]
    facets: dict[str, list[dict[str, Any]]]
    did_you_mean: str | None = None
    partial: bool = False
    # "eq": the total is exact. Counts come from the match set, which the time limit does
    # not cut ("partial" concerns the ranking of the page only); "gte" is kept for a
    # count that may one day be a lower bound, as Elasticsearch's hits.total.relation.
    total_relation: str = "eq"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "query": self.query,
            "total": self.total,
            "total_relation": self.total_relation,
            "page": self.page,
            "per_page": self.per_page,
            "took_ms": round(self.took_ms, 2),
            "hits": [h.to_dict() for h in self.hits],
            "facets": self.facets,
        }
        if self.did_you_mean:
            out["did_you_mean"] = self.did_you_mean
        if self.partial:
            out["partial"] = True
        return out


SNIPPET_CHARS = 220


def lead_snippet(text: str) -> str:
    """The start of a text as a snippet: HTML-escaped, cut at a word with an ellipsis."""
    text = " ".join(text.split())
    if len(text) > SNIPPET_CHARS:
        text = text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
    return escape(text, quote=False)


DATE_RE = re.compile(r"([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?")


def _date_pattern() -> str:
    """What parse_date_bound accepts (before stripping spaces), as one regular expression
    for the OpenAPI document: years 0001-9999, real months and real days, 29 February in
    leap years only. tests/test_openapi.py checks the two agree."""
    year = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
    leap = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)"
    month = "(0?[1-9]|1[0-2])"
    day = (
        "((0?[13578]|1[02])-(0?[1-9]|[12][0-9]|3[01])"
        "|(0?[469]|11)-(0?[1-9]|[12][0-9]|30)"
        "|0?2-(0?[1-9]|1[0-9]|2[0-8]))"
    )
    return f"^({year}(-{month})?|{year}-{day}|{leap}-0?2-29)$"


DATE_PATTERN = _date_pattern()
# Text a client sends: no control characters but tab, newline and carriage return.
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"


def parse_date_bound(value: str, end: bool, param: str) -> dt.date:
    """`2013`, `2013-01` or `2013-01-21` (ASCII digits; years 0001-9999); a year or month
    is taken whole (inclusive): its first day, or with `end` its last."""
    m = DATE_RE.fullmatch(value.strip())
    if not m:
        raise QueryError(
            f"{param}={value[:40]!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD", param
        )
    year, month, day = int(m[1]), int(m[2] or 0), int(m[3] or 0)
    if not (1 <= year <= 9999 and (m[2] is None or 1 <= month <= 12)):
        raise QueryError(
            f"{param}={value[:40]!r} is not a real date (years 0001-9999, months 1-12)", param
        )
    if m[2] is None:
        return dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
    last = calendar.monthrange(year, month)[1]
    if m[3] is None:
        return dt.date(year, month, last if end else 1)
    if not 1 <= day <= last:
        raise QueryError(f"{param}={value[:40]!r} is not a real date", param)
    return dt.date(year, month, day)


def _raw(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The one value of a parameter as sent, None when not given."""
    values = params.get(name) or []
    if len(values) > 1:
        raise QueryError(f"{name} is given {len(values)} times; give it once", name)
    return values[0] if values else None


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The one value of a parameter, stripped; None when not given or empty (`page=`):
    an empty value means "not given", as for every parameter."""
    return (_raw(params, name) or "").strip() or None


def _int(params: Mapping[str, Sequence[str]], name: str, default: int, lo: int, hi: int) -> int:
    raw = _one(params, name)
    if raw is None:
        return default
    # ASCII digits only: str.isdigit() and \d also take "²" and "٣", which int() refuses
    # or reads as another number.
    if not re.fullmatch(r"[+]?[0-9]{1,9}", raw):
        raise QueryError(f"{name}={raw[:40]!r} is not a whole number", name)
    value = int(raw)
    if not lo <= value <= hi:
        raise QueryError(f"{name}={value} is out of range: use {lo} to {hi}", name)
    return value


def _text(value: str, name: str, limit: int) -> str:
    if len(value) > limit:
        raise QueryError(f"{name} is too long: {len(value)} characters (limit {limit})", name)
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise QueryError(f"{name} contains control characters", name)
    return value


def filters_from_params(params: Mapping[str, Sequence[str]]) -> Filters:
    def many(name: str) -> tuple[str, ...]:
        values = params.get(name) or []
        if len(values) > MAX_FILTER_VALUES:
            raise QueryError(f"too many {name} values (limit {MAX_FILTER_VALUES})", name)
        # Checked as sent, then stripped: empty values mean "not given".
        stripped = (_text(v, name, MAX_FILTER_CHARS).strip() for v in values)
        return tuple(v for v in stripped if v)

    kinds = many("kind")
    for k in kinds:
        if k.lower() not in KINDS:
            raise QueryError(f"kind={k!r} is unknown: use one of {', '.join(KINDS)}", "kind")
    start, end = _one(params, "from"), _one(params, "to")
    date_from = parse_date_bound(start, False, "from") if start else None
    date_to = parse_date_bound(end, True, "to") if end else None
    if date_from and date_to and date_from > date_to:
        raise QueryError(f"from={start} is after to={end}", "from")
    return Filters(
        tags=many("tag"),
        locations=many("location"),
        kinds=tuple(k.lower() for k in kinds),
        stories=many("story"),
        date_from=date_from,
        date_to=date_to,
    )


def request_from_params(params: Mapping[str, Sequence[str]], config: SearchConfig) -> SearchRequest:
    """Validate query parameters (as lists of strings, like a query string) into a request."""
    q = _text(_raw(params, "q") or "", "q", config.max_query_chars).strip()
    sort = _one(params, "sort") or "relevance"
    if sort not in SORTS:
        raise QueryError(f"sort={sort[:40]!r} is unknown: use one of {', '.join(SORTS)}", "sort")
    return SearchRequest(
        q=q,
        filters=filters_from_params(params),
        sort=sort,  # type: ignore[arg-type]
        page=_int(params, "page", 1, 1, config.max_page),
        per_page=_int(params, "per_page", config.per_page, 1, config.max_per_page),
    )


def suggest_from_params(params: Mapping[str, Sequence[str]]) -> SuggestRequest:
    """Validate the parameters of a completions request."""
    fmt = _one(params, "format") or "json"
    if fmt not in SUGGEST_FORMATS:
        raise QueryError(
            f"format={fmt[:40]!r} is unknown: use one of {', '.join(SUGGEST_FORMATS)}", "format"
        )
    return SuggestRequest(
        q=_text(_raw(params, "q") or "", "q", MAX_SUGGEST_CHARS),
        limit=_int(params, "limit", 8, 1, MAX_SUGGEST),
        format=fmt,
    )


def related_limit(params: Mapping[str, Sequence[str]], default: int = 10) -> int:
    """The `limit` of a related-events request."""
    return _int(params, "limit", default, 1, MAX_RELATED)
