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
from typing import Any

from whoosh.reading import TermNotFound

from searchsvc.config import RelatedConfig
from searchsvc.index.schema import TEXT_ANALYZER, TEXT_FIELDS, stored_dict
from searchsvc.index.tables import Tables
from searchsvc.query import Hit, lead_snippet

KEY_TERMS = 12
COMMON_SHARE = 0.05  # a term in more than this share of documents is not distinctive


def _ids(searcher: Any, field: str, term: str) -> list[int]:
    try:
        return list(searcher.postings(field, term).all_ids())
    except TermNotFound:
        return []


def key_terms(searcher: Any, text: str, limit: int = KEY_TERMS) -> list[tuple[str, float]]:
    """The text's most distinctive terms, weighted by tf-idf."""
    counts: dict[str, int] = {}
    for token in TEXT_ANALYZER(text):
        if not token.text.isdigit():
            counts[token.text] = counts.get(token.text, 0) + 1
    n = max(searcher.doc_count_all(), 1)
    ceiling = max(50, int(n * COMMON_SHARE))
    scored = []
    for term, tf in counts.items():
        df = sum(searcher.doc_frequency(f, term) for f in TEXT_FIELDS)
        if 0 < df <= ceiling:
            scored.append((term, (1 + math.log(tf)) * math.log(n / df)))
    scored.sort(key=lambda x: -x[1])
    return scored[:limit]


def related(
    searcher: Any,
    tables: Tables,
    doc: dict[str, Any],
    weights: RelatedConfig,
    limit: int,
    allowed: set[int] | None = None,
) -> list[Hit]:
    """The `limit` events most related to `doc`, best first (`allowed`: the documents the
    request's filters let through, None for all)."""
    self_num = searcher.document_number(id=doc["id"])
    text = "\n".join(doc.get(f) or "" for f in ("title", "summary", "body"))

    # Words: each candidate's share of the document's key-term weight.
    terms = key_terms(searcher, text)
    total = sum(w for _, w in terms) or 1.0
    words: dict[int, float] = {}
    for term, weight in terms:
        holders: set[int] = set()
        for field in TEXT_FIELDS:
            holders.update(_ids(searcher, field, term))
        for d in holders:
            words[d] = words.get(d, 0.0) + weight / total

    # Story and explicit links, both ways.
    story = (doc.get("story") or "").lower()
    same_story = set(_ids(searcher, "story", story)) if story else set()
    linked = set(_ids(searcher, "links", doc["id"]))
    for r in doc.get("related", []):
        num = searcher.document_number(id=r["id"])
        if num is not None:
            linked.add(num)

    # Tags and places the document has.
    tags = {t.lower() for t in doc.get("tags", [])}
    places = {p.lower() for p in doc.get("locations", [])}
    day = tables.days[self_num] if self_num is not None else 0
    window = 3 * weights.time_scale_days
    candidates = set(words) | same_story | linked
    for tag in tags:
        candidates.update(_ids(searcher, "tags", tag))
    if day:
        for place in places:
            candidates.update(
                d
                for d in _ids(searcher, "locations", place)
                if tables.days[d] and abs(tables.days[d] - day) <= window
            )
    candidates.discard(self_num)

    scored = []
    for d in candidates:
        if tables.kinds[d] != "event" or (allowed is not None and d not in allowed):
            continue
        score = weights.words * words.get(d, 0.0)
        if day and tables.days[d]:
            score += weights.time * math.exp(-abs(tables.days[d] - day) / weights.time_scale_days)
        if places:
            score += weights.locations * len(places.intersection(tables.locations[d])) / len(places)
        if tags:
            score += weights.tags * len(tags.intersection(tables.tags[d])) / len(tags)
        if story and tables.stories[d] == story:
            score += weights.story
        if d in linked:
            score += weights.links
        scored.append((score, tables.days[d], d))  # among equals, the newer
    best = heapq.nlargest(limit, scored)
    return [_hit(searcher, d, score, tags) for score, _, d in best]


def _hit(searcher: Any, docnum: int, score: float, tags: set[str]) -> Hit:
    cand = stored_dict(searcher.stored_fields(docnum))
    return Hit(
        id=cand["id"],
        kind=cand["kind"],
        title=cand["title"],
        date=cand.get("date"),
        story=cand.get("story"),
        tags=cand.get("tags", []),
        locations=cand.get("locations", []),
        snippet=lead_snippet(cand.get("summary") or cand.get("body") or ""),
        score=round(score, 4),
        shared=[t for t in cand.get("tags", []) if t.lower() in tags],
    )
