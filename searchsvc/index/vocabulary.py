"""The index's own vocabulary, as written: for completions (`/suggest`) and spelling
corrections (`did_you_mean`).

Words come from titles and summaries, labels from tags, stories and locations, each with
the number of documents it occurs in and its most common spelling. They are read from the
stored documents once per segment (a segment is re-read when documents in it are
deleted), and merged per index generation.
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"[^\W\d_][\w'’\-]*[^\W_]|[^\W\d_]")
_POSSESSIVE = re.compile(r"['’]s$")
KINDS = ("tag", "story", "location", "word")


@dataclass
class _Counts:
    words: Counter[str] = field(default_factory=Counter)  # lowercase -> documents
    forms: dict[str, Counter[str]] = field(default_factory=dict)  # lowercase -> spellings
    labels: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, label)


def _read_segment(reader: Any) -> _Counts:
    counts = _Counts()
    for docnum in range(reader.doc_count_all()):
        if reader.is_deleted(docnum):
            continue
        doc = json.loads(reader.stored_fields(docnum)["doc"])
        seen = set()
        for word in _WORD.findall(f"{doc.get('title', '')}\n{doc.get('summary', '')}"):
            word = _POSSESSIVE.sub("", word)
            low = word.lower()
            counts.forms.setdefault(low, Counter())[word] += 1
            seen.add(low)
        counts.words.update(seen)
        for kind, values in (
            ("tag", doc.get("tags", [])),
            ("location", doc.get("locations", [])),
            ("story", [doc["story"]] if doc.get("story") else []),
        ):
            counts.labels.update((kind, v) for v in set(values))
    return counts


class Vocabulary:
    """Prefix completions and spelling corrections over one index generation."""

    def __init__(self, parts: list[_Counts]) -> None:
        words: Counter[str] = Counter()
        forms: dict[str, Counter[str]] = {}
        labels: Counter[tuple[str, str]] = Counter()
        for part in parts:
            words.update(part.words)
            labels.update(part.labels)
            for low, spellings in part.forms.items():
                forms.setdefault(low, Counter()).update(spellings)
        self.words = words
        self.display = {low: spellings.most_common(1)[0][0] for low, spellings in forms.items()}
        # Entries (text, kind, count); the index maps each word of an entry to it.
        self.entries: list[tuple[str, str, int]] = []
        best: dict[tuple[str, str], tuple[str, int]] = {}
        for (kind, label), count in labels.items():
            key = (kind, label.lower())
            if key not in best or count > best[key][1]:
                best[key] = (label, count)
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

    def correct(self, words: list[str]) -> str | None:
        """The words with each unknown one replaced by the most frequent known word one
        edit away (else two), as the index spells it; None if nothing changes."""
        changed = False
        out = []
        for word in words:
            low = word.lower()
            if low in self.words or len(low) < 3 or not low.isalpha():
                out.append(word)
                continue
            candidates = {w for w in _edits1(low) if w in self.words}
            if not candidates and len(low) > 4:
                candidates = self._within_two(low)
            if candidates:
                best = max(sorted(candidates), key=lambda c: self.words[c])
                out.append(self.display.get(best, best))
                changed = True
            else:
                out.append(word)
        return " ".join(out) if changed else None

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
    """Vocabularies by generation; segments are read once (again when documents in them
    are deleted). When a new generation appears, the previous vocabulary keeps answering
    while the new one is built in the background: a few seconds of stale completions
    rather than a slow request. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._segments: dict[tuple[str, int], _Counts] = {}
        self._generation: int | None = None
        self._vocabulary: Vocabulary | None = None
        self._building: int | None = None

    def get(self, searcher: Any) -> Vocabulary:
        gen = searcher.reader().generation()
        with self._lock:
            current = self._vocabulary
            if current is not None:
                # An older generation's searcher gets the newer vocabulary: completions
                # are not tied to document numbers.
                if gen <= max(self._generation or 0, self._building or 0):
                    return current
                self._building = gen
                threading.Thread(
                    target=self._build, args=(searcher, gen, True), daemon=True
                ).start()
                return current
        return self._build(searcher, gen, False)

    def _build(self, searcher: Any, gen: int, background: bool) -> Vocabulary:
        # A searcher belongs to its thread: in the background, read with a reader of our own.
        reader = searcher._ix.reader() if background else searcher.reader()
        try:
            parts, live = [], set()
            for segreader, _ in reader.leaf_readers():
                seg = segreader.segment()
                key = (seg.segment_id(), seg.deleted_count())
                live.add(key)
                with self._lock:
                    counts = self._segments.get(key)
                if counts is None:
                    counts = _read_segment(segreader)
                parts.append(counts)
                with self._lock:
                    self._segments[key] = counts
            vocabulary = Vocabulary(parts)
            with self._lock:
                self._segments = {k: v for k, v in self._segments.items() if k in live}
                if self._generation is None or gen >= self._generation:
                    self._vocabulary, self._generation = vocabulary, gen
                if self._building == gen:
                    self._building = None
            return vocabulary
        finally:
            if background:
                reader.close()
