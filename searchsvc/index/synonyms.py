"""Synonyms, applied at query time: a file of groups, read again when it changes.

    # comments start with #
    Kyiv, Kiev                        each finds the others
    COVID-19, coronavirus, SARS-CoV-2
    UK, U.K. -> United Kingdom        one way: "UK" finds "United Kingdom", not back

A query of plain words has each run of words that is an entry (the longest first, case,
accents and surrounding punctuation aside) searched as itself or any of its synonyms; a
tag or location filter keeps the documents labelled with the value or any of its
synonyms. Nothing is re-indexed: changing the file changes the next search.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

_PUNCTUATION = ".,;:!?\"'()[]"


def normal_words(text: str) -> tuple[str, ...]:
    """The words of a text as entries are compared: case-folded, accents dropped, spaces
    collapsed, punctuation around each word stripped."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return tuple(w for w in (w.strip(_PUNCTUATION) for w in plain.split()) if w)


@dataclass(frozen=True)
class Synonyms:
    """Each entry (its normal words) and what it also finds, as written in the file."""

    table: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    @property
    def longest(self) -> int:
        return max((len(k) for k in self.table), default=0)

    def alternatives(self, text: str) -> tuple[str, ...]:
        """What this whole text (a filter's value, a run of words) also finds."""
        return self.table.get(normal_words(text), ())

    def spans(self, words: list[str]) -> list[tuple[list[str], tuple[str, ...]]]:
        """The words of a query in runs: each entry found (longest first, from the left)
        with its synonyms, the other words one by one with none."""
        out: list[tuple[list[str], tuple[str, ...]]] = []
        normal = [normal_words(w) for w in words]
        i, longest = 0, self.longest
        while i < len(words):
            for n in range(min(longest, len(words) - i), 0, -1):
                key = tuple(p for ws in normal[i : i + n] for p in ws)
                alts = self.table.get(key) if key else None
                if alts:
                    out.append((words[i : i + n], alts))
                    i += n
                    break
            else:
                out.append(([words[i]], ()))
                i += 1
        return out


def parse(text: str) -> Synonyms:
    """The synonyms of a file's text; ValueError naming the line that is not a group."""
    table: dict[tuple[str, ...], list[str]] = {}

    def add(entry: str, alts: list[str]) -> None:
        key = normal_words(entry)
        known = table.setdefault(key, [])
        for alt in alts:
            # An alternative holding the entry ("Gaza Strip" for "Gaza") finds nothing
            # more, and would only add to the score of what the entry finds.
            if not _holds(normal_words(alt), key) and alt not in known:
                known.append(alt)

    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "->" in line:
            left, _, right = line.partition("->")
            sources = _terms(left)
            targets = _terms(right)
            if not sources or not targets or "->" in right:
                raise ValueError(f"line {n}: write 'a, b -> c, d' (one arrow, terms each side)")
            for s in sources:
                add(s, targets)
        else:
            terms = _terms(line)
            if len(terms) < 2:
                raise ValueError(f"line {n}: a group needs two terms or more, comma-separated")
            for t in terms:
                add(t, terms)
    return Synonyms({k: tuple(v) for k, v in table.items() if k and v})


def _holds(words: tuple[str, ...], run: tuple[str, ...]) -> bool:
    n = len(run)
    return any(words[i : i + n] == run for i in range(len(words) - n + 1))


def _terms(text: str) -> list[str]:
    return [" ".join(t.split()) for t in text.split(",") if normal_words(t)]
