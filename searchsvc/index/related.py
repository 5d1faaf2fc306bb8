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

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from searchsvc.config import RelatedConfig
from searchsvc.index.schema import TEXT_ANALYZER, TEXT_FIELDS, label_key, stored_hit
from searchsvc.index.tables import KINDS, Tables
from searchsvc.query import Hit, lead_snippet

KEY_TERMS = 12
COMMON_SHARE = 0.05
TEXT_CHARS = 2000  # a term in more than this share of documents is not distinctive


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


@dataclass
class Candidates:
    """The possible relatives of a document and the evidence for each, as columns."""

    docnums: np.ndarray  # int64
    days: np.ndarray  # int64 day numbers, 0 when unknown
    words: np.ndarray  # share of the document's key-term weight each holds
    days_apart: np.ndarray  # float, NaN when either date is unknown
    places: np.ndarray  # share of the document's places each shares
    tags: np.ndarray  # share of the document's tags each shares
    story: np.ndarray  # bool: same story
    linked: np.ndarray  # bool: one lists the other in its Related list

    def __len__(self) -> int:
        return len(self.docnums)

    def select(self, keep: np.ndarray) -> Candidates:
        return Candidates(*(getattr(self, f.name)[keep] for f in fields(self)))

    def scores(self, w: RelatedConfig) -> np.ndarray:
        s = w.words * self.words + w.locations * self.places + w.tags * self.tags
        s += w.story * self.story + w.links * self.linked
        known = ~np.isnan(self.days_apart)
        s[known] += w.time * np.exp(-self.days_apart[known] / w.time_scale_days)
        return s


def candidates(
    searcher: Any, tables: Tables, doc: dict[str, Any], window_days: float
) -> Candidates:
    """Every event that shares a distinctive word, a tag, the story or a Related link with
    the document, or one of its places within `window_days` of its date. Counted in
    arrays over all documents: a story's events share hundreds of candidates, which
    Python objects made the larger part of the time."""
    n = tables.size
    self_num = searcher.document_number(id=doc["id"])
    # The start of a long body is enough to know what a text is about.
    text = "\n".join((doc.get(f) or "")[:TEXT_CHARS] for f in ("title", "summary", "body"))

    terms = key_terms(searcher, text, dfs=tables.dfs)
    total = sum(w for _, w in terms) or 1.0
    words = np.zeros(n)
    for term, weight in terms:
        words[tables.holders(term, searcher)] += weight / total
    found = words > 0

    story = np.zeros(n, dtype=bool)
    if doc.get("story"):
        story[tables.term(searcher, "story", doc["story"].lower())] = True
    linked = np.zeros(n, dtype=bool)
    linked[tables.term(searcher, "links", doc["id"])] = True
    for r in doc.get("related", []):
        num = searcher.document_number(id=r["id"])
        if num is not None:
            linked[num] = True
    found |= story | linked

    days = tables.days.astype(np.int64)
    day = int(days[self_num]) if self_num is not None else 0
    tags = {label_key(t) for t in doc.get("tags", [])}
    places = {label_key(p) for p in doc.get("locations", [])}
    shared_tags = np.zeros(n)
    for tag in tags:
        shared_tags[tables.term(searcher, "tags", tag)] += 1
    found |= shared_tags > 0
    shared_places = np.zeros(n)
    for place in places:
        shared_places[tables.term(searcher, "locations", place)] += 1
    if day:
        near = (days > 0) & (np.abs(days - day) <= window_days)
        found |= (shared_places > 0) & near
    if self_num is not None:
        found[self_num] = False
    d = np.flatnonzero(found & (tables.kinds == KINDS.index("event")))
    other = days[d]
    apart = np.abs(other - day).astype(float)
    apart[(other == 0) | (day == 0)] = np.nan
    return Candidates(
        docnums=d,
        days=other,
        words=words[d],
        days_apart=apart,
        places=shared_places[d] / (len(places) or 1),
        tags=shared_tags[d] / (len(tags) or 1),
        story=story[d],
        linked=linked[d],
    )


def rank(found: Candidates, weights: RelatedConfig, limit: int) -> list[tuple[float, int]]:
    """The best `limit` candidates as (score, docnum); among equals, the newer first."""
    scores = found.scores(weights)
    best = np.lexsort((found.docnums, found.days, scores))[::-1][:limit]
    return [(float(scores[k]), int(found.docnums[k])) for k in best]


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
        found = found.select(allowed[found.docnums])
    tags = {label_key(t) for t in doc.get("tags", [])}
    return [_hit(searcher, d, score, tags) for score, d in rank(found, weights, limit)]


def _hit(searcher: Any, docnum: int, score: float, tags: set[str]) -> Hit:
    cand = stored_hit(searcher.stored_fields(docnum))
    return Hit.from_stored(
        cand,
        lead_snippet(cand.get("summary") or cand.get("body") or ""),
        round(score, 4),
        context=[t for t in cand.get("tags", []) if label_key(t) in tags],
    )
