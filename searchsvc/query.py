"""What a search asks and what it answers, independent of Whoosh and of HTTP.

The endpoints' parameters are declared here, once, as `Param`s (`params.py`): the HTTP
layer and the command line turn their input into requests with `request_from_params` and
its siblings (which validate everything a client can send), the OpenAPI document and the
command line's flags follow from the same declarations. The answers are dataclasses whose
fields (with their descriptions) are the JSON a client gets and its OpenAPI schema.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any, Literal, TypedDict

from searchsvc.config import SearchConfig
from searchsvc.model import KINDS, LABELS, Kind
from searchsvc.params import (
    DATE_HELP,
    DATE_PATTERN,
    MAX_FILTER_CHARS,
    MAX_FILTER_VALUES,
    TEXT_PATTERN,
    Param,
    QueryError,
    parse_date_bound,
    read,
)

__all__ = [
    "DATE_PATTERN",
    "MAX_FILTER_CHARS",
    "MAX_FILTER_VALUES",
    "TEXT_PATTERN",
    "QueryError",
    "parse_date_bound",
]

Sort = Literal["relevance", "date", "-date"]
SORTS: tuple[Sort, ...] = ("relevance", "date", "-date")
COLLAPSES = ("story",)
SPELLS = ("on", "off")
MAX_HALF_LIFE_DAYS = 36500
MAX_SUGGEST = 20  # completions per request
MAX_SUGGEST_CHARS = 100
SUGGEST_FORMATS = ("json", "opensearch")
MAX_RELATED = 50
HISTOGRAMS = ("day", "month", "year", "auto")
DEFAULT_KM = 50  # near= without km=
MAX_KM = 20_016  # half the Earth's circumference: everywhere
_NUMBER = r"\s*([+-]?[0-9]{1,3}(?:\.[0-9]{1,12})?)\s*"
_LAT_LON = re.compile(f"{_NUMBER},{_NUMBER}")
_BBOX = re.compile(f"{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}")

# --- what a request may ask ------------------------------------------------------------------

FILTERS: tuple[Param, ...] = (
    *(
        Param(
            lb.param,
            f"only {lb.help} (repeatable, at most {MAX_FILTER_VALUES}: all must match; "
            "at most {max_chars} characters each)",
            repeat=True,
        )
        for lb in LABELS
    ),
    Param("kind", "event or source (repeatable)", "choice", repeat=True, choices=KINDS, fold=True),
    Param("from", f"from this date, inclusive: {DATE_HELP}", "date"),
    Param("to", f"up to this date, inclusive: {DATE_HELP}", "date", end=True),
    Param(
        "near",
        "only documents with a place within km of this point: a place the index knows "
        "(a location, as the locations facet names it: near=Douentza) or lat,lon in "
        "degrees (near=15.0,-2.95); coordinates resolved when the documents were indexed",
    ),
    Param(
        "km",
        "the radius of near=, in km, great-circle (default 50, at most {hi})",
        "int",
        hi=MAX_KM,
    ),
    Param(
        "bbox",
        "only documents with a place in this box: west,south,east,north in degrees "
        "(bbox=-12,10,5,25; inclusive; west > east crosses the antimeridian)",
    ),
)
REPEATABLE_PARAMS = tuple(p.name for p in FILTERS if p.repeat)
FILTER_PARAMS = tuple(p.name for p in FILTERS)

SEARCH_PARAMS: tuple[Param, ...] = (
    Param(
        "q",
        'query in Whoosh syntax: words, "phrases", AND/OR/NOT, field:value, prefix*, '
        "fuzzy~; empty to browse newest first",
        max_chars=lambda c: c.max_query_chars,
    ),
    *FILTERS,
    Param(
        "sort",
        "relevance (default), date (oldest first) or -date (newest first); undated "
        "documents last in both date orders, ties by id",
        "choice",
        default="relevance",
        choices=SORTS,
    ),
    Param(
        "spell",
        "on (default): plain words that find little are also searched as the index spells "
        "them (corrected_query), their exact matches first; off: only as typed",
        "choice",
        default="on",
        choices=SPELLS,
    ),
    Param(
        "collapse",
        "story: one hit per story (its best), with how many more it holds; pages, "
        "per_page and total_groups count these groups, total and facets every match",
        "choice",
        choices=COLLAPSES,
    ),
    Param(
        "recency",
        "relevance times 0.5 ** (age / this many days), the age before the newest "
        "document (0: off; default {default}, at most {hi})",
        "int",
        default=lambda c: c.recency_half_life_days,
        lo=0,
        hi=MAX_HALF_LIFE_DAYS,
    ),
    Param(
        "histogram",
        "also count the result's documents per day, month or year (undated ones apart); "
        "auto: day for a result spanning under 62 days, month under 72 months, else year",
        "choice",
        choices=HISTOGRAMS,
    ),
    Param("page", "page number, from 1 (at most {hi})", "int", default=1, hi=lambda c: c.max_page),
    Param(
        "per_page",
        "hits per page (default {default}, at most {hi})",
        "int",
        default=lambda c: c.per_page,
        hi=lambda c: c.max_per_page,
    ),
)
SUGGEST_PARAMS: tuple[Param, ...] = (
    # Not stripped: "mali " (a finished word) completes otherwise than "mali".
    Param("q", "what the user has typed", max_chars=MAX_SUGGEST_CHARS, strip=False),
    Param("limit", "how many (default {default}, at most {hi})", "int", default=8, hi=MAX_SUGGEST),
    Param(
        "format",
        "json (default) or opensearch: [query, [texts]] as application/x-suggestions+json, "
        "the browsers' suggestion format",
        "choice",
        default="json",
        choices=SUGGEST_FORMATS,
    ),
)
RELATED_PARAMS: tuple[Param, ...] = (
    Param("limit", "how many (default {default}, at most {hi})", "int", default=10, hi=MAX_RELATED),
    *FILTERS,
)


@dataclass(frozen=True)
class Filters:
    """What a search or a related-events request keeps: documents with every label value
    asked for (by `Label.name`: `{"tags": ("mali",)}`), of these kinds, in these dates."""

    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    kinds: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    # Within km of a point: (lat, lon), or a location's name the index resolves.
    near: tuple[float, float] | str | None = None
    km: int = DEFAULT_KM
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north

    def __bool__(self) -> bool:
        return bool(
            self.kinds
            or self.date_from
            or self.date_to
            or any(self.labels.values())
            or self.near
            or self.bbox
        )


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    filters: Filters = field(default_factory=Filters)
    sort: Sort = "relevance"
    page: int = 1
    per_page: int = 10
    histogram: str | None = None  # day, month, year or auto
    spell: bool = True  # search a spelling correction when the words find little
    collapse: str | None = None  # "story": one hit per story
    recency: int = 0  # half-life in days of the recency factor; 0: none


@dataclass(frozen=True)
class SuggestRequest:
    q: str = ""
    limit: int = 8
    format: str = "json"


def _filters(values: Mapping[str, Any], params: Mapping[str, Sequence[str]]) -> Filters:
    start, end = values["from"], values["to"]
    if start and end and start > end:
        sent = {k: (params.get(k) or [""])[0].strip() for k in ("from", "to")}
        raise QueryError(f"from={sent['from']} is after to={sent['to']}", "from")
    near, km, bbox = values["near"] or None, values["km"], values["bbox"] or None
    if km is not None and near is None:
        raise QueryError("km is the radius of near=: give near too", "km")
    return Filters(
        labels={lb.name: values[lb.param] for lb in LABELS if values[lb.param]},
        kinds=values["kind"],
        date_from=start,
        date_to=end,
        near=_near(near) if near else None,
        km=km if km is not None else DEFAULT_KM,
        bbox=_bbox(bbox) if bbox else None,
    )


def _near(value: str) -> tuple[float, float] | str:
    """lat,lon as numbers, or a place's name (resolved by the index)."""
    m = _LAT_LON.fullmatch(value)
    if m is None:
        if re.fullmatch(r"[\s0-9.,+-]*", value):
            raise QueryError(
                f"near={value[:40]!r} is neither lat,lon (near=15.0,-2.95) nor a place", "near"
            )
        return value
    lat, lon = float(m[1]), float(m[2])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise QueryError(
            f"near={value[:40]!r} is off the Earth: latitude -90 to 90, longitude -180 to 180",
            "near",
        )
    return lat, lon


def _bbox(value: str) -> tuple[float, float, float, float]:
    m = _BBOX.fullmatch(value)
    if m is None:
        raise QueryError(
            f"bbox={value[:40]!r} is not west,south,east,north in degrees (bbox=-12,10,5,25)",
            "bbox",
        )
    west, south, east, north = (float(m[i]) for i in range(1, 5))
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise QueryError(
            f"bbox={value[:40]!r}: longitudes -180 to 180, latitudes -90 to 90, south <= north",
            "bbox",
        )
    return west, south, east, north


def request_from_params(params: Mapping[str, Sequence[str]], config: SearchConfig) -> SearchRequest:
    """Validate query parameters (as lists of strings, like a query string) into a request."""
    values = read(params, SEARCH_PARAMS, config)
    return SearchRequest(
        q=values["q"],
        filters=_filters(values, params),
        sort=values["sort"],
        page=values["page"],
        per_page=values["per_page"],
        histogram=values["histogram"],
        spell=values["spell"] == "on",
        collapse=values["collapse"],
        recency=values["recency"],
    )


def suggest_from_params(params: Mapping[str, Sequence[str]]) -> SuggestRequest:
    """Validate the parameters of a completions request."""
    return SuggestRequest(**read(params, SUGGEST_PARAMS, SearchConfig()))


def related_from_params(params: Mapping[str, Sequence[str]]) -> tuple[int, Filters]:
    """The `limit` and the filters of a related-events request."""
    values = read(params, RELATED_PARAMS, SearchConfig())
    return values["limit"], _filters(values, params)


# --- what an answer holds --------------------------------------------------------------------


def about(
    text: str, omit_empty: bool = False, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The metadata of a field of an answer: its description (for the OpenAPI document);
    `omit_empty`: left out of the JSON when empty (so optional in the schema); `schema`:
    what the type does not say (`{"format": "date"}`)."""
    return {"doc": text, "omit_empty": omit_empty, "schema": schema or {}}


def to_json(answer: Any) -> Any:
    """An answer (dataclasses, lists and dicts of them) as JSON-ready data: every field
    under its own name, those marked `omit_empty` only when they hold something."""
    if dataclasses.is_dataclass(answer) and not isinstance(answer, type):
        return {
            f.name: to_json(getattr(answer, f.name))
            for f in dataclasses.fields(answer)
            if getattr(answer, f.name) or not f.metadata.get("omit_empty")
        }
    if isinstance(answer, list | tuple):
        return [to_json(v) for v in answer]
    if isinstance(answer, dict):
        return {k: to_json(v) for k, v in answer.items()}
    return answer


@dataclass
class Hit:
    id: str = field(metadata=about("the file's path relative to the content root"))
    kind: Kind = field(metadata=about("event or source"))
    title: str = field(metadata=about("as the page gives it"))
    date: str | None = field(
        metadata=about("the event's day, or the article's", schema={"format": "date"})
    )
    story: str | None = field(metadata=about("the running story the event belongs to"))
    tags: list[str] = field(metadata=about("as the page writes them"))
    locations: list[str] = field(metadata=about("places named by the page or found in its text"))
    snippet: str = field(metadata=about("HTML-escaped extract, matches wrapped in <mark>"))
    score: float | None = field(metadata=about("relevance; none when sorted by date or browsing"))
    # Related events only: the tags the event shares with the document.
    context: list[str] | None = field(
        default=None, metadata=about("the tags shared with the document", omit_empty=True)
    )
    pinned: bool = field(
        default=False,
        metadata=about("placed first by the editors for this query", omit_empty=True),
    )
    collapsed: int = field(
        default=0,
        metadata=about(
            "collapse=story: how many more matches of its story this hit stands for",
            omit_empty=True,
        ),
    )
    see_all: str | None = field(
        default=None,
        metadata=about(
            "collapse=story: the query string of the search listing them all", omit_empty=True
        ),
    )

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
        out = to_json(self)
        if self.context is not None:  # an empty list too: it shares no tag
            out["context"] = self.context
        return out


class _Counted(TypedDict):
    value: str
    count: int


class FacetValue(_Counted, total=False):
    # Locations only, where the gazetteer knew them when the documents were indexed:
    kind: str  # city, country, state, continent or region
    lat: float  # degrees
    lon: float


class Bucket(TypedDict):
    key: str  # the period as from= and to= take it: 2013, 2013-01, 2013-01-21
    count: int


@dataclass
class Histogram:
    interval: Literal["day", "month", "year"] = field(
        metadata=about("the period counted by (what auto chose, when asked)")
    )
    buckets: list[Bucket] = field(
        metadata=about(
            "each period holding matches, oldest first, with its count; its key is the "
            "period as from= and to= take it (2013, 2013-01, 2013-01-21); empty periods "
            "are left out"
        )
    )
    undated: int = field(metadata=about("matching documents without a date (in no period)"))


# The facets of a search, in the order the page shows them: the faceted labels, then the
# year and the kind of document.
FACETS: tuple[str, ...] = (*(lb.name for lb in LABELS if lb.facet), "year", "kind")


@dataclass(kw_only=True)  # fields in the order of the JSON
class SearchResult:
    query: str = field(metadata=about("the query as searched (stripped)"))
    total: int = field(metadata=about("all matches, not just this page; exact, also when partial"))
    # "eq": the total is exact. Counts come from the match set, which the time limit does
    # not cut ("partial" concerns the ranking of the page only); "gte" is kept for a
    # count that may one day be a lower bound, as Elasticsearch's hits.total.relation.
    total_relation: Literal["eq", "gte"] = field(
        default="eq",
        metadata=about(
            "how total relates to the number of matches: eq (exact; counts come from the "
            "whole match set, which the time limit never cuts) or gte (a lower bound)"
        ),
    )
    page: int = field(metadata=about("this page's number, from 1"))
    per_page: int = field(metadata=about("hits per page"))
    took_ms: float = field(metadata=about("time to answer, in milliseconds"))
    hits: list[Hit] = field(metadata=about("this page's hits, best first or in the order asked"))
    facets: dict[str, list[FacetValue]] = field(
        metadata=about(
            "counts over the whole result set, the most frequent first", schema={"keys": FACETS}
        )
    )
    histogram: Histogram | None = field(
        default=None,
        metadata=about(
            "with histogram=: the matching documents per period, over the whole result "
            "(exact, as the facets)",
            omit_empty=True,
        ),
    )
    did_you_mean: str | None = field(
        default=None,
        metadata=about("a corrected query, when this one finds little", omit_empty=True),
    )
    corrected_query: str | None = field(
        default=None,
        metadata=about(
            "the query as the index spells it, searched too because this one found little: "
            "its matches follow the exact ones (spell=off searches only as typed)",
            omit_empty=True,
        ),
    )
    total_groups: int | None = field(
        default=None,
        metadata=about(
            "collapse=story: the groups shown over all pages (a story, or a match of no "
            "story); pages count these",
            omit_empty=True,
        ),
    )
    partial: bool = field(
        default=False,
        metadata=about(
            "the time limit cut the ranking short: the page holds the best hits found in "
            "time (total and facets stay exact)",
            omit_empty=True,
        ),
    )

    def to_dict(self) -> dict[str, Any]:
        out = to_json(self)
        if self.total_groups is not None:  # 0 too: nothing to show
            out["total_groups"] = self.total_groups
        return out


SNIPPET_CHARS = 220


def lead_snippet(text: str) -> str:
    """The start of a text as a snippet: HTML-escaped, cut at a word with an ellipsis."""
    text = " ".join(text.split())
    if len(text) > SNIPPET_CHARS:
        text = text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
    return escape(text, quote=False)
