"""The index's own vocabulary, as written: for completions (`/suggest`) and spelling
corrections (`did_you_mean`).

Words come from titles and summaries, labels from tags, stories and locations, each with
the number of documents it occurs in and its most common spelling. They are counted per
segment by the index run that writes the segment, which saves them beside it
(`<segment>.vocab`, JSON; Whoosh deletes it with its segment), and merged per index
generation by each web worker. A worker counts a segment itself (from its stored
documents) only when that file is missing or out of date: counting the whole dev corpus
takes about 2 s of CPU, which every worker paid at each full rebuild, while serving.
"""

from __future__ import annotations

import bisect
import json
import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from searchsvc.index.manifest import write_atomic
from searchsvc.index.schema import TEXT_ANALYZER, label_key, stored_hit
from searchsvc.model import LABELS, Document

log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W\d_][\w'’\-]*[^\W_]|[^\W\d_]")
_POSSESSIVE = ("'s", "’s")


@dataclass
class Counts:
    """The vocabulary of one segment's live documents."""

    words: Counter[str] = field(default_factory=Counter)  # lowercase -> documents
    spellings: Counter[str] = field(default_factory=Counter)  # as written -> occurrences
    labels: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, label)

    def add(self, doc: Document | dict[str, Any]) -> None:
        """Count one document (a Document or its stored form). In bulk (Counter.update
        runs in C): this is most of the time it takes to count a segment."""
        if isinstance(doc, dict):
            text = f"{doc.get('title') or ''}\n{doc.get('summary') or ''}"
        else:
            text = f"{doc.title}\n{doc.summary}"
        words = _WORD.findall(text)
        if "'" in text or "’" in text:
            words = [w[:-2] if w.endswith(_POSSESSIVE) else w for w in words]
        self.spellings.update(words)
        self.words.update(set(map(str.lower, set(words))))
        # Completions of each suggested label, by its parameter's name ("tag", "story").
        self.labels.update(
            (lb.param, v) for lb in LABELS if lb.suggest for v in set(lb.values(doc))
        )

    def subtract(self, other: Counts) -> None:
        for mine, theirs in (
            (self.words, other.words),
            (self.spellings, other.spellings),
            (self.labels, other.labels),
        ):
            mine.subtract(theirs)
            for key in [k for k in theirs if mine[k] <= 0]:
                del mine[key]

    def copy(self) -> Counts:
        return Counts(self.words.copy(), self.spellings.copy(), self.labels.copy())


@dataclass
class SegmentCounts:
    """A segment's counts and the deleted documents they leave out."""

    counts: Counts
    deleted: frozenset[int] = frozenset()

    def to_json(self) -> str:
        c = self.counts
        return json.dumps(
            {
                "deleted": sorted(self.deleted),
                "words": c.words,
                "spellings": c.spellings,
                "labels": [[kind, label, n] for (kind, label), n in c.labels.items()],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> SegmentCounts:
        data = json.loads(text)
        labels = Counter({(kind, label): n for kind, label, n in data["labels"]})
        counts = Counts(Counter(data["words"]), Counter(data["spellings"]), labels)
        return cls(counts, frozenset(data["deleted"]))


def _add_stored(counts: Counts, reader: Any, docnums: Any) -> Counts:
    for docnum in docnums:
        counts.add(stored_hit(reader.stored_fields(docnum)))
    return counts


def count_segment(reader: Any) -> SegmentCounts:
    """Count a segment's live documents from their stored fields."""
    seg = reader.segment()
    live = (n for n in range(reader.doc_count_all()) if not reader.is_deleted(n))
    return SegmentCounts(_add_stored(Counts(), reader, live), frozenset(seg.deleted_docs()))


def catch_up(reader: Any, known: SegmentCounts | None) -> SegmentCounts:
    """The counts of the segment as the reader sees it, from counts made when fewer of its
    documents were deleted: the documents deleted since are read and taken off (an index
    run that updates one document deletes its old version from a large segment)."""
    deleted = frozenset(reader.segment().deleted_docs())
    if known is None or not known.deleted <= deleted:
        return count_segment(reader)
    if known.deleted == deleted:
        return known
    counts = known.counts.copy()
    counts.subtract(_add_stored(Counts(), reader, sorted(deleted - known.deleted)))
    return SegmentCounts(counts, deleted)


def _counts_path(index_dir: Path, segment: Any) -> Path:
    # Named like the segment's own files, so that Whoosh deletes it with the segment.
    return index_dir / f"{segment.segment_id()}.vocab"


def has_counts(index_dir: Path, segment: Any) -> bool:
    return _counts_path(index_dir, segment).exists()


def save_counts(index_dir: Path, segment: Any, counts: SegmentCounts) -> None:
    """Save a segment's counts beside it, for the web workers to load."""
    write_atomic(_counts_path(index_dir, segment), counts.to_json())


def load_counts(index_dir: Path, segment: Any) -> SegmentCounts | None:
    """A segment's saved counts, or None when there are none (or they cannot be read)."""
    try:
        return SegmentCounts.from_json(_counts_path(index_dir, segment).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("unreadable vocabulary of segment %s: %s", segment.segment_id(), exc)
        return None


class Vocabulary:
    """Prefix completions and spelling corrections over one index generation."""

    def __init__(self, parts: list[Counts]) -> None:
        words: Counter[str] = Counter()
        spellings: Counter[str] = Counter()
        labels: Counter[tuple[str, str]] = Counter()
        for part in parts:
            words.update(part.words)
            labels.update(part.labels)
            spellings.update(part.spellings)
        self.words = words
        # Each word as it is most often written (the first seen among equals).
        self.display: dict[str, str] = {}
        most: dict[str, int] = {}
        for spelling, count in spellings.items():
            low = spelling.lower()
            if count > most.get(low, 0):
                self.display[low], most[low] = spelling, count
        # Entries (text, kind, count); the index maps each word of an entry to it.
        self.entries: list[tuple[str, str, int]] = []
        # Each label as most documents spell it, keyed as the index keys it (spellings
        # that differ in case are one label there: one filter, one facet value).
        best: dict[tuple[str, str], tuple[str, int]] = {}
        for (kind, label), count in sorted(labels.items()):
            key = (kind, label_key(label))
            if key not in best or count > best[key][1]:
                best[key] = (label, count)
        self._labels = {key: label for key, (label, _) in best.items()}
        for (kind, _), (label, count) in best.items():
            self.entries.append((label, kind, count))
        for low, count in words.items():
            self.entries.append((self.display[low], "word", count))
        keys: list[tuple[str, int]] = []
        for n, (text, _, _) in enumerate(self.entries):
            low = text.lower()
            keys.append((low, n))
            for m in re.finditer(r"[ \-/(]+(\w)", low):
                keys.append((low[m.start(1) :], n))
        keys.sort()
        self._keys = [k for k, _ in keys]
        self._refs = [n for _, n in keys]
        self._buckets: dict[str, list[str]] | None = None

    def suggest(self, prefix: str, limit: int = 8) -> list[dict[str, Any]]:
        """Entries with a word starting with `prefix`, the most frequent first."""
        low = " ".join(prefix.lower().split())
        if not low:
            return []
        lo = bisect.bisect_left(self._keys, low)
        hi = bisect.bisect_left(self._keys, low + "\uffff")
        found: dict[int, None] = dict.fromkeys(self._refs[lo:hi])
        ranked = sorted(found, key=lambda n: (-self.entries[n][2], self.entries[n][0]))
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for n in ranked:
            text, kind, count = self.entries[n]
            if text.lower() in seen:
                continue
            seen.add(text.lower())
            out.append({"text": text, "kind": kind, "count": count})
            if len(out) >= limit:
                break
        return out

    def label(self, kind: str, key: str) -> str | None:
        """A label ("tag", "location", "story") as most documents spell it, from its key
        as the index keys it (lowercase); None when no document holds it."""
        return self._labels.get((kind, key))

    def correct(self, words: list[str]) -> str | None:
        """The words with each unknown one replaced by its completion when it begins a
        word that the suggestions offer for it ("Douent": "Douentza"), else by the most
        frequent known word one edit away (else two), as the index spells it; None if
        nothing changes."""
        changed = False
        out = []
        for word in words:
            low = word.lower()
            if low in self.words or len(low) < 3 or not low.isalpha():
                out.append(word)
                continue
            completion = self._completion(low)
            if completion:
                out.append(completion)
                changed = True
                continue
            candidates = {w for w in _edits1(low) if w in self.words}
            if not candidates and len(low) > 4:
                candidates = self._within_two(low)
            candidates -= TEXT_ANALYZER.stoplist  # "Fox" is not "for": nothing to search
            if candidates:
                best = max(sorted(candidates), key=lambda c: self.words[c])
                out.append(self.display.get(best, best))
                changed = True
            else:
                out.append(word)
        return " ".join(out) if changed else None

    def _completion(self, prefix: str) -> str | None:
        """The first word beginning with the prefix in what `suggest` offers for it:
        a user who typed the start of a word is told the word, not a look-alike."""
        for entry in self.suggest(prefix):
            for word in _WORD.findall(entry["text"]):
                if word.lower().startswith(prefix) and word.lower() in self.words:
                    return self.display.get(word.lower(), word)
        return None

    def _within_two(self, word: str) -> set[str]:
        """Known words two edits away, among those with the same first letter and a
        similar length (generating every two-edit string would take seconds)."""
        if self._buckets is None:
            buckets: dict[str, list[str]] = {}
            for w in self.words:
                buckets.setdefault(w[0], []).append(w)
            self._buckets = buckets
        return {
            w
            for w in self._buckets.get(word[0], [])
            if abs(len(w) - len(word)) <= 2 and _distance_at_most(word, w, 2)
        }


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _edits1(word: str) -> set[str]:
    letters = set(_LETTERS) | set(word)
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in letters]
    inserts = [a + c + b for a, b in splits for c in letters]
    return set(deletes + transposes + replaces + inserts)


def _distance_at_most(a: str, b: str, limit: int) -> bool:
    """Levenshtein distance of a and b is at most limit (banded, early exit)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


class VocabularyCache:
    """The vocabulary of the newest generation built so far, merged from the segments'
    counts (saved by the index run, kept in memory, caught up when documents of a segment
    are deleted). `SearchIndex` builds a new generation's with `build` before it serves
    that generation; a searcher of another generation gets the one there is: completions
    are not tied to document numbers. Thread-safe."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self._lock = threading.Lock()
        self._segments: dict[str, SegmentCounts] = {}
        self._generation = -1
        self._vocabulary: Vocabulary | None = None

    def get(self, searcher: Any) -> Vocabulary:
        with self._lock:
            current = self._vocabulary
        return current if current is not None else self.build(searcher)

    @property
    def generation(self) -> int:
        """The generation the vocabulary was last built on (-1: none yet); builds nothing."""
        with self._lock:
            return self._generation

    def current(self, searcher: Any) -> tuple[Vocabulary, int]:
        """The vocabulary `get` gives, with the generation it was built on (which may be
        newer than the searcher's, when one was prepared meanwhile)."""
        self.get(searcher)
        with self._lock:
            return self._vocabulary, self._generation  # type: ignore[return-value]

    def build(self, searcher: Any) -> Vocabulary:
        """The vocabulary of the searcher's generation (or a newer one), built now."""
        gen = searcher.reader().generation()
        with self._lock:
            if self._vocabulary is not None and gen <= self._generation:
                return self._vocabulary
        parts, live = [], {}
        for segreader, _ in searcher.reader().leaf_readers():
            seg_id = segreader.segment().segment_id()
            with self._lock:
                known = self._segments.get(seg_id)
            if known is None:
                known = load_counts(self.index_dir, segreader.segment())
            known = catch_up(segreader, known)
            parts.append(known.counts)
            live[seg_id] = known
        vocabulary = Vocabulary(parts)
        with self._lock:
            if gen >= self._generation:
                self._vocabulary, self._generation, self._segments = vocabulary, gen, live
        return vocabulary
