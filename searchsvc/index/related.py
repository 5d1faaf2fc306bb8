""" "More like this" for news: the events most related to a document.

Words alone (what Whoosh's, Lucene's and tantivy's more-like-this compare) miss what makes
two news events related: they happen close in time, in the same places, in the same
story. Candidates come from one query over the document's distinctive words, tags,
locations, story and explicit Related links; each candidate is then scored on all of the
evidence, with the weights of `[related]` in config.toml.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from whoosh import query as wq

from searchsvc.config import RelatedConfig
from searchsvc.index.schema import stored_dict
from searchsvc.query import Hit, lead_snippet

_KEY_TERMS = 12


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def candidates_query(searcher: Any, doc: dict[str, Any]) -> Any:
    """One OR query over everything the document could share with a relative."""
    text = "\n".join(doc.get(f) or "" for f in ("title", "summary", "body"))
    clauses: list[Any] = []
    if text.strip():
        for field in ("title", "summary"):
            for term, weight in searcher.key_terms_from_text(field, text, numterms=_KEY_TERMS):
                clauses.append(wq.Term(field, term, boost=float(weight)))
    clauses += [wq.Term("tags", t.lower(), boost=2.0) for t in doc.get("tags", [])]
    clauses += [wq.Term("locations", loc.lower()) for loc in doc.get("locations", [])]
    if doc.get("story"):
        clauses.append(wq.Term("story", doc["story"].lower(), boost=3.0))
    clauses += [wq.Term("id", r["id"], boost=3.0) for r in doc.get("related", [])]
    return wq.Or(clauses) if clauses else wq.NullQuery


def related(
    searcher: Any,
    doc: dict[str, Any],
    weights: RelatedConfig,
    limit: int,
    filt: Any = None,
) -> list[Hit]:
    q = candidates_query(searcher, doc)
    if q is wq.NullQuery:
        return []
    events = wq.Term("kind", "event")
    combined = events if filt is None else wq.And([events, filt])
    results = searcher.search(
        q, limit=weights.candidates, filter=combined, mask=wq.Term("id", doc["id"])
    )
    if results.is_empty():
        return []
    top = max(results.top_n[0][0], 1e-9)
    day = _date(doc.get("date"))
    tags = {t.lower() for t in doc.get("tags", [])}
    places = {p.lower() for p in doc.get("locations", [])}
    links = {r["id"] for r in doc.get("related", [])}
    scored = []
    for hit in results:
        cand = stored_dict(hit.fields())
        cand_tags = cand.get("tags", [])
        shared = [t for t in cand_tags if t.lower() in tags]
        cand_places = {p.lower() for p in cand.get("locations", [])}
        cand_day = _date(cand.get("date"))
        near = 0.0
        if day and cand_day:
            near = math.exp(-abs((day - cand_day).days) / weights.time_scale_days)
        linked = cand["id"] in links or any(r["id"] == doc["id"] for r in cand.get("related", []))
        score = (
            weights.words * hit.score / top
            + weights.time * near
            + weights.locations * (len(places & cand_places) / len(places) if places else 0.0)
            + weights.tags * (len(shared) / len(tags) if tags else 0.0)
            + weights.story
            * (1.0 if doc.get("story") and cand.get("story") == doc["story"] else 0.0)
            + weights.links * (1.0 if linked else 0.0)
        )
        scored.append((score, cand, shared))
    scored.sort(key=lambda x: (-x[0], x[1].get("date") or ""), reverse=False)
    return [
        Hit(
            id=c["id"],
            kind=c["kind"],
            title=c["title"],
            date=c.get("date"),
            story=c.get("story"),
            tags=c.get("tags", []),
            locations=c.get("locations", []),
            snippet=lead_snippet(c.get("summary") or c.get("body") or ""),
            score=round(s, 4),
            shared=shared,
        )
        for s, c, shared in scored[:limit]
    ]
