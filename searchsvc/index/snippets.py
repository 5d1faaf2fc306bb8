"""Snippets: the part of a text where a hit's matched words are, HTML-escaped, with the
matches wrapped in <mark>."""

from __future__ import annotations

from html import escape

from searchsvc.index.analysis import word_terms
from searchsvc.index.schema import TEXT_ANALYZER
from searchsvc.query import SNIPPET_CHARS

LEAD_CHARS = 60  # context kept before the first match


def highlight(text: str, terms: set[str], limit: int = SNIPPET_CHARS) -> str:
    """The window of `text` (about `limit` characters) that holds the most matches of
    `terms` (analysed terms, as in the index); "" when none is in the text."""
    matches = [(s, e) for term, s, e in word_terms(TEXT_ANALYZER, text) if term in terms]
    if not matches:
        return ""
    # The window starting at a match that covers the most matches (two pointers).
    best, best_count, j = 0, 0, 0
    for k, (start, _) in enumerate(matches):
        j = max(j, k)
        while j < len(matches) and matches[j][1] <= start + limit:
            j += 1
        if j - k > best_count:
            best, best_count = k, j - k
    first = matches[best][0]
    # A short text is shown whole; a longer one from a little before the matches.
    lo = 0 if len(text) <= limit else max(0, first - LEAD_CHARS)
    if lo:
        space = text.find(" ", lo, first)
        lo = space + 1 if space != -1 else lo
    hi = min(len(text), lo + limit)
    if hi < len(text):
        space = text.rfind(" ", first, hi)
        hi = space if space > first else hi
    out = ["…"] if lo else []
    pos = lo
    for s, e in matches:
        if s < lo or e > hi:
            continue
        out.append(escape(text[pos:s], quote=False))
        out.append("<mark>" + escape(text[s:e], quote=False) + "</mark>")
        pos = e
    out.append(escape(text[pos:hi], quote=False))
    if hi < len(text):
        out.append("…")
    return " ".join("".join(out).split())
