""" "More like this" for news: the events most related to a document.

Words alone (what Whoosh's, Lucene's and tantivy's more-like-this compare) miss what makes
two news events related: they happen close in time, in the same places, in the same
story. Candidates are the events sharing the document's distinctive words, tags, story or
Related links, or a place within a few weeks; each is scored on all of that evidence with
the weights of `[related]` in config.toml (chosen by bench/quality.py):

    words * (share of the document's key-term weight the candidate holds)
  + time * exp(-days apart / time_scale_days)
  + locations * (share of the document's places it shares)
  + tags * (share of the document's tags it shares)
  + story * (same story) + links * (one links the other in its Related list)

It reads postings and the per-document tables (tables.py), never a stored document except
for the hits it returns, which keeps it within a few milliseconds where a Whoosh OR query
over the same terms takes tens.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.reading import TermNotFound

from searchsvc.config import RelatedConfig
from searchsvc.index.schema import TEXT_ANALYZER, TEXT_FIELDS, label_key, stored_dict
from searchsvc.index.tables import KINDS, Tables
from searchsvc.query import Hit, lead_snippet

KEY_TERMS = 12
COMMON_SHARE = 0.05
TEXT_CHARS = 2000  # a term in more than this share of documents is not distinctive


def _ids(searcher: Any, field: str, term: str) -> list[int]:
    try:
        return list(searcher.postings(field, term).all_ids())
    except TermNotFound:
        return []


def key_terms(
    searcher: Any, text: str, limit: int = KEY_TERMS, dfs: dict[str, int] | None = None
) -> list[tuple[str, float]]:
    """The text's most distinctive terms, weighted by tf-idf (`dfs`: a cache of document
    frequencies for this index generation)."""
    counts: dict[str, int] = {}
    for token in TEXT_ANALYZER(text):
        if not token.text.isdigit():
            counts[token.text] = counts.get(token.text, 0) + 1
    n = max(searcher.doc_count_all(), 1)
    ceiling = max(50, int(n * COMMON_SHARE))
    dfs = {} if dfs is None else dfs
    scored = []
    for term, tf in counts.items():
        df = dfs.get(term)
        if df is None:
            df = dfs[term] = sum(searcher.doc_frequency(f, term) for f in TEXT_FIELDS)
        if 0 < df <= ceiling:
            scored.append((term, (1 + math.log(tf)) * math.log(n / df)))
    scored.sort(key=lambda x: -x[1])
    return scored[:limit]


@dataclass(slots=True)
class Candidate:
    """A possible relative of a document, and the evidence for it."""

    docnum: int
    day: int  # its date as a day number, 0 when unknown
    words: float  # share of the document's key-term weight it holds
    days_apart: int | None  # None when either date is unknown
    places: float  # share of the document's places it shares
    tags: float  # share of the document's tags it shares
    story: bool  # same story
    linked: bool  # one lists the other in its Related list

    def score(self, w: RelatedConfig) -> float:
        s = w.words * self.words + w.locations * self.places + w.tags * self.tags
        if self.days_apart is not None:
            s += w.time * math.exp(-self.days_apart / w.time_scale_days)
        if self.story:
            s += w.story
        if self.linked:
            s += w.links
        return s


def candidates(
    searcher: Any, tables: Tables, doc: dict[str, Any], window_days: float
) -> list[Candidate]:
    """Every event that shares a distinctive word, a tag, the story or a Related link with
    the document, or one of its places within `window_days` of its date."""
    self_num = searcher.document_number(id=doc["id"])
    # The start of a long body is enough to know what a text is about.
    text = "\n".join((doc.get(f) or "")[:TEXT_CHARS] for f in ("title", "summary", "body"))

    terms = key_terms(searcher, text, dfs=tables.dfs)
    total = sum(w for _, w in terms) or 1.0
    words: dict[int, float] = {}
    for term, weight in terms:
        share = weight / total
        for d in tables.holders(term, searcher).tolist():
            words[d] = words.get(d, 0.0) + share

    story = (doc.get("story") or "").lower()
    same_story = set(_ids(searcher, "story", story)) if story else set()
    linked = set(_ids(searcher, "links", doc["id"]))
    for r in doc.get("related", []):
        num = searcher.document_number(id=r["id"])
        if num is not None:
            linked.add(num)

    tags = {label_key(t) for t in doc.get("tags", [])}
    places = {label_key(p) for p in doc.get("locations", [])}
    days = tables.days
    day = days[self_num] if self_num is not None else 0
    found = set(words) | same_story | linked
    # How many of the document's tags and places each document shares, counted from the
    # postings: cheaper than intersecting label sets for each of a thousand candidates.
    shared_tags: dict[int, int] = {}
    for tag in tags:
        for d in _ids(searcher, "tags", tag):
            shared_tags[d] = shared_tags.get(d, 0) + 1
    found.update(shared_tags)
    shared_places: dict[int, int] = {}
    for place in places:
        for d in _ids(searcher, "locations", place):
            shared_places[d] = shared_places.get(d, 0) + 1
            if day and days[d] and abs(days[d] - day) <= window_days:
                found.add(d)
    found.discard(self_num)

    out = []
    n_places, n_tags = len(places) or 1, len(tags) or 1
    event = KINDS.index("event")
    kinds = tables.kinds
    for d in found:
        if kinds[d] != event:
            continue
        other = days[d]
        out.append(
            Candidate(
                docnum=d,
                day=other,
                words=words.get(d, 0.0),
                days_apart=abs(other - day) if day and other else None,
                places=shared_places.get(d, 0) / n_places,
                tags=shared_tags.get(d, 0) / n_tags,
                story=d in same_story,
                linked=d in linked,
            )
        )
    return out


def rank(found: list[Candidate], weights: RelatedConfig, limit: int) -> list[tuple[float, int]]:
    """The best `limit` candidates as (score, docnum); among equals, the newer first."""
    scored = ((c.score(weights), c.day, c.docnum) for c in found)
    return [(score, d) for score, _, d in heapq.nlargest(limit, scored)]


def related(
    searcher: Any,
    tables: Tables,
    doc: dict[str, Any],
    weights: RelatedConfig,
    limit: int,
    allowed: np.ndarray | None = None,
) -> list[Hit]:
    """The `limit` events most related to `doc`, best first (`allowed`: a mask of the
    documents the request's filters let through, None for all)."""
    found = candidates(searcher, tables, doc, 3 * weights.time_scale_days)
    if allowed is not None:
        found = [c for c in found if allowed[c.docnum]]
    tags = {label_key(t) for t in doc.get("tags", [])}
    return [_hit(searcher, d, score, tags) for score, d in rank(found, weights, limit)]


def _hit(searcher: Any, docnum: int, score: float, tags: set[str]) -> Hit:
    cand = stored_dict(searcher.stored_fields(docnum))
    return Hit.from_stored(
        cand,
        lead_snippet(cand.get("summary") or cand.get("body") or ""),
        round(score, 4),
        shared=[t for t in cand.get("tags", []) if label_key(t) in tags],
    )
