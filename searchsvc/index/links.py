"""The links between source texts and events: plain Python, no index needed.

An event is also found by the words of its source texts: those that name it (`event:` in
their front matter) and those at the URLs it cites. Phase 1 of a run reads the changed
source texts; these functions say which source texts belong to which event, and which
unchanged events must be written again because a source text of theirs changed, came or
went.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from searchsvc.content import FileInfo
from searchsvc.index.manifest import Entry
from searchsvc.model import Document


def normalize_url(url: str) -> str:
    """URLs that name the same page compare equal: scheme, case of host, `www.`, slash."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


@dataclass
class Links:
    """What phase 2 needs to give each event the words of its source texts."""

    by_event: dict[str, list[str]] = field(default_factory=dict)  # event id -> source ids
    by_url: dict[str, list[str]] = field(default_factory=dict)  # normalized URL -> source ids
    fresh: dict[str, str] = field(default_factory=dict)  # source id -> words (parsed now)

    def source_ids(self, doc: Document) -> list[str]:
        """The source texts of an event, each once: those that name it, then those at the
        URLs it cites."""
        ids = list(self.by_event.get(doc.id, ()))
        for s in doc.sources:
            if s.url:
                ids.extend(self.by_url.get(normalize_url(s.url), ()))
        return list(dict.fromkeys(ids))


def source_words(doc: Document) -> str:
    return "\n".join(t for t in (doc.title, doc.summary, doc.body) if t)


def link_entry(doc: Document, info: FileInfo) -> Entry:
    if doc.kind == "event":
        urls = [normalize_url(s.url) for s in doc.sources if s.url]
    else:
        urls = [normalize_url(doc.url)] if doc.url else []
    return Entry(info.mtime_ns, info.size, doc.kind, urls=urls, event=doc.event or "")


def gather_links(
    old: Mapping[str, Entry],
    files: Mapping[str, FileInfo],
    todo_ids: set[str],
    sources: dict[str, Entry],
    fresh: dict[str, str],
) -> Links:
    """Which source texts belong to which event: the unchanged ones as the manifest
    remembers them, the ones read in this run as they are now."""
    entries = {
        i: e for i, e in old.items() if e.kind == "source" and i in files and i not in todo_ids
    }
    entries.update(sources)
    links = Links(fresh=fresh)
    for sid, e in entries.items():
        if e.event:
            links.by_event.setdefault(e.event, []).append(sid)
        for u in e.urls:
            links.by_url.setdefault(u, []).append(sid)
    return links


def events_linked_to(
    old: Mapping[str, Entry],
    source_ids: list[str],
    sources: dict[str, Entry],
    files: Mapping[str, FileInfo],
) -> set[str]:
    """The indexed events, still in the tree, that the changed or deleted source texts
    belonged to, or that their new versions belong to: their words change with them."""
    events: set[str] = set()
    urls: set[str] = set()
    for entry in [old[i] for i in source_ids] + list(sources.values()):
        events.add(entry.event)
        urls.update(entry.urls)
    if urls:
        events.update(i for i, e in old.items() if e.kind == "event" and urls & set(e.urls))
    return {i for i in events if i in files and i in old and old[i].kind == "event"}
