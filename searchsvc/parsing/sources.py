"""Source texts: the articles behind events, as scraped (with page chrome) or as written."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from searchsvc.model import Document
from searchsvc.parsing.events import link_target
from searchsvc.parsing.text import (
    as_list,
    as_text,
    clean,
    date_from_path,
    dedupe,
    parse_date,
    plain,
    shorten,
)

# Page furniture that scrapers keep: never the article's words, never its title.
# A line is chrome when one of these matches all of it (case-insensitive).
_CHROME_LINES = [
    r"skip to (main )?(content|navigation|search)",
    r"(story|article) continues (below|after)( (this|the))? (advertisement|ad)",
    r"advertisement|sponsored( content)?|ad feedback",
    r"report (an|a) (error|typo|correction)",
    r"(share|tweet|email|print)( (this|the) (article|story|page))?",
    r"share (on|via) (facebook|twitter|x|email|whatsapp|linkedin)",
    r"follow us on .{1,40}",
    r"sign up (for|to) (our|the) .{1,40}",
    r"(subscribe|log ?in|sign ?in|register)( now| today| to .{1,40})?",
    r"(read|see) more( stories)?:?.{0,80}",
    r"related( stories| articles| content)?:?",
    r"(image|photo|picture) (copyright|credit|caption):?.{0,120}",
    r"(copyright|©).{0,120}(all rights reserved)?\.?",
    r"(comments?|\d+ comments?)( \(\d+\))?",
    r"(back to top|top of page|next article|previous article)",
    r"click here.{0,80}",
]
_CHROME = re.compile(r"^\W*(?:" + "|".join(_CHROME_LINES) + r")\W*$", re.I)
# Comment-policy notices ("we have temporarily removed commenting from our articles").
_COMMENT_NOTICE = re.compile(
    r"\bwe (have |had |are )?(temporarily |now )?(removed|closed|disabled|turned off|suspended)"
    r"\b.{0,30}\bcomment"
    r"|\bcomments (are|have been) (now )?(closed|disabled|turned off|suspended)\b",
    re.I,
)
# Photo captions: "..., Mali, Jan. 19, 2013." or an agency photo credit.
_MONTH = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_CAPTION = re.compile(
    r",\s+" + _MONTH + r"\s+\d{1,2},\s+\d{4}\.(\s|$)"
    r"|\((AP|AFP|Reuters|EPA|Getty Images)( Photo)?/"
    r"|^(file )?photo(graph)?:\s",
    re.I,
)


def is_chrome(line: str) -> bool:
    return bool(_CHROME.match(line) or _COMMENT_NOTICE.search(line) or _CAPTION.search(line))


def article_paragraphs(text: str) -> list[str]:
    """The article's paragraphs: markup and page chrome removed."""
    out = []
    for block in re.split(r"\n\s*\n", plain(text)):
        lines = [clean(line) for line in block.split("\n")]
        kept = [line for line in lines if line and not is_chrome(line)]
        if kept:
            out.append(" ".join(kept))
    return out


_DATELINE = re.compile(
    r"^(published|posted|updated|date)\s*:?\s*(on\s+)?(\d{4}-\d{1,2}-\d{1,2})", re.I
)


def parse_source(
    doc_id: str, meta: dict[str, Any], content: str, find_places: Callable[..., list[str]]
) -> Document:
    paras = article_paragraphs(content)
    title = as_text(meta.get("title"))
    if title:
        title = clean(plain(title))
    elif paras and _looks_like_title(paras[0]):
        title = paras.pop(0)
    elif paras:
        # No title in the text (the seed has none): a short lead stands in.
        title = shorten(_first_sentence(paras[0]), 100)
    else:
        title = doc_id.rsplit("/", 1)[-1]

    date = None
    if meta.get("date") is not None:
        date = parse_date(meta["date"], "front matter 'date'")
    else:
        date = date_from_path(doc_id)
        if date is None:
            for line in content.split("\n")[:10]:
                m = _DATELINE.match(line.strip())
                if m:
                    date = parse_date(m[3], "the dateline")
                    break

    summary = paras[0] if paras else ""
    body = "\n\n".join(paras[1:])
    tags = dedupe(as_list(meta.get("tags")))
    event = as_text(meta.get("event"))
    places = find_places(texts=[title, summary, body], tags=tags)
    return Document(
        id=doc_id,
        kind="source",
        title=title,
        date=date,
        summary=summary,
        body=body,
        category=as_text(meta.get("category")) or as_text(meta.get("section")),
        tags=tags,
        locations=dedupe(as_list(meta.get("locations")) + places),
        url=as_text(meta.get("url")),
        publisher=as_text(meta.get("publisher")),
        event=link_target(event) if event else None,
    )


def _looks_like_title(para: str) -> bool:
    """A headline: short, one sentence, not ended by a full stop."""
    return len(para) <= 150 and not para.endswith((".", ",", ";", ":")) and ". " not in para


_SENTENCE_END = re.compile(r"(?<=[a-z0-9\"')][.!?])\s+(?=[A-Z\"'])")


def _first_sentence(para: str) -> str:
    return _SENTENCE_END.split(para, maxsplit=1)[0]
