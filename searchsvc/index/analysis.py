"""The text analyzer, and two small speed-ups to Whoosh's segment writer.

`NewsAnalyzer` gives exactly the tokens of
`RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter() | StemFilter()`
(tests/test_analysis.py checks it), in one loop instead of a chain of five generators:
analysis was about 40% of indexing time.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from itertools import accumulate, pairwise
from typing import Any

from whoosh.analysis import STOP_WORDS, Analyzer, Token
from whoosh.analysis.tokenizers import default_pattern
from whoosh.codec.whoosh3 import W3Codec
from whoosh.formats import Positions, tokens
from whoosh.lang.porter import stem
from whoosh.support.charset import accent_map
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from searchsvc.index.whoosh_compat import INT_SIZE, stored_lengths


def fold(word: str) -> str:
    """A word lowercased and its accents folded ("Tōhoku" -> "tohoku"), as Whoosh's
    LowercaseFilter and CharsetFilter(accent_map) make it. accent_map leaves lowercase
    ASCII as it is, so an ASCII word is only lowercased: `translate` was the larger part
    of analysing a word."""
    word = word.lower()
    return word if word.isascii() else word.translate(accent_map)


class NewsAnalyzer(Analyzer):
    """Words, lowercased, accents folded ("Tōhoku" -> "tohoku"), stop words dropped,
    Porter-stemmed."""

    def __init__(self, minsize: int = 2) -> None:
        self.minsize = minsize
        self.stoplist = frozenset(STOP_WORDS)
        self._stems: dict[str, str] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NewsAnalyzer) and other.minsize == self.minsize

    def __hash__(self) -> int:
        return hash(("NewsAnalyzer", self.minsize))

    def __getstate__(self) -> dict[str, Any]:
        return {"minsize": self.minsize, "stoplist": self.stoplist, "_stems": {}}

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        stems = self._stems
        stoplist = self.stoplist
        minsize = self.minsize
        if tokenize:
            matches = ((m.group(), m.start(), m.end()) for m in default_pattern.finditer(value))
        else:
            matches = iter([(value, 0, len(value))])
        rawpos = start_pos
        pos: int | None = None  # StopFilter's renumbering: from the first kept token on
        for text, start, end in matches:
            word = fold(text)
            t.boost = 1.0
            if keeporiginal:
                t.original = text
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            if len(word) < minsize or word in stoplist:
                if not removestops:
                    t.text = word
                    t.stopped = True
                    if positions:
                        t.pos = rawpos
                    rawpos += 1
                    yield t
                else:
                    rawpos += 1
                continue
            stemmed = stems.get(word)
            if stemmed is None:
                stemmed = stems[word] = stem(word)
            t.text = stemmed
            t.stopped = False
            if positions:
                pos = rawpos if pos is None else pos + 1
                t.pos = pos
            rawpos += 1
            yield t


# Posting blocks uncompressed: a fifth faster to write and to search, for a larger index.
COMPRESSION = 0


class _CachedLengths:
    """Field lengths of a just-written segment, read once instead of once per posting."""

    def __init__(self, pdr: Any) -> None:
        self._pdr = pdr
        self._cache: dict[str, list[int] | None] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        table = self._cache.get(fieldname, False)
        if table is False:
            reader = stored_lengths(self._pdr, fieldname)
            table = None if reader is None else [byte_to_length(b) if b else 0 for b in reader]
            self._cache[fieldname] = table
        return default if table is None else table[docnum]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pdr, name)


class FastSegmentWriter(SegmentWriter):
    """Whoosh's SegmentWriter, which reads each posting's field length back from disk
    while writing postings (a quarter of commit time); this one reads them once."""

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        kwargs.setdefault("codec", W3Codec(compression=COMPRESSION))
        super().__init__(ix, **kwargs)

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        lengths = _CachedLengths(pdr) if pdr is not None else None
        self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if pdr is not None:
            pdr.close()


_UINT32_LE = struct.Struct("<I")


class FastPositions(Positions):
    """Whoosh's Positions format with a lighter encoding (an array of position deltas
    instead of a pickle) and no per-token weight bookkeeping: about a fifth of the time
    spent turning tokens into postings."""

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Iterator[Any]:
        fb = self.field_boost
        kwargs["positions"] = True
        poses: dict[str, list[int]] = {}
        stream = (
            analyzer(value, **kwargs) if isinstance(value, str) else tokens(value, analyzer, kwargs)
        )
        for t in stream:
            if t.stopped:
                continue
            found = poses.get(t.text)
            if found is None:
                poses[t.text] = [t.pos]
            else:
                found.append(t.pos)
        for word, poslist in poses.items():
            yield word, len(poslist), len(poslist) * fb, self.encode(poslist)

    def encode(self, poslist: list[int]) -> bytes:
        n = len(poslist)
        if n == 1:
            return pack_uint(1) + _UINT32_LE.pack(poslist[0])
        deltas = [poslist[0]] + [b - a for a, b in pairwise(poslist)]
        return pack_uint(n) + struct.pack(f"<{n}I", *deltas)

    def decode_positions(self, valuestring: bytes) -> list[int]:
        n = (len(valuestring) - INT_SIZE) // 4
        return list(accumulate(struct.unpack_from(f"<{n}I", valuestring, INT_SIZE)))


def word_terms(analyzer: NewsAnalyzer, text: str) -> Iterator[tuple[str, int, int]]:
    """(term, start, end) for each indexed word of the text: what the analyzer makes of
    it at that place, stop words left out. For snippets: cheaper than Whoosh's
    highlighter, which builds a token object per word."""
    stems = analyzer._stems
    stoplist = analyzer.stoplist
    minsize = analyzer.minsize
    for m in default_pattern.finditer(text):
        word = fold(m.group())
        if len(word) < minsize or word in stoplist:
            continue
        term = stems.get(word)
        if term is None:
            term = stems[word] = stem(word)
        yield term, m.start(), m.end()


def terms(analyzer: NewsAnalyzer, text: str) -> tuple[str, ...]:
    """The text's terms, as `[t.text for t in analyzer(text)]` gives them (stop words
    left out), without a token object a word."""
    return tuple(term for term, _, _ in word_terms(analyzer, text))
