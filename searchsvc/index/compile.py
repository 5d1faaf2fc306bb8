"""Compiling and checking queries: the user's text (Whoosh syntax) as a Whoosh query, or a
QueryError (a 400) saying why not.

Plain words skip Whoosh's parser (a tenth of a search's time): `_plain_query` builds
exactly what the parser would (tests/test_fuzz_api.py compares the two). Every query is
checked before it runs: balanced quotes and parentheses, something to search for, at most
`max_terms` terms, wildcards and fuzzy terms long enough, and (against the index) prefixes
and wildcards that expand to at most `max_expansions` words.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from whoosh import query as wq
from whoosh.qparser import AndGroup, FuzzyTermPlugin, MultifieldParser, OrGroup

from searchsvc.config import Config
from searchsvc.index.schema import TEXT_ANALYZER, TEXT_FIELDS, make_schema
from searchsvc.index.synonyms import Synonyms
from searchsvc.index.synonyms import parse as parse_synonyms
from searchsvc.index.watched import WatchedFile
from searchsvc.index.whoosh_compat import prefix_terms
from searchsvc.query import QueryError

# The operators of Whoosh's query syntax, as its parser reads them (upper case only): a
# query with one is not plain words, and none is a word typed for the exact-form bonus
# (ranking.py). TO is not among them: it is a word of a range only inside brackets, which
# already make a query not plain, and "to" is a stop word, never a surface word.
OPERATORS = frozenset(("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE"))


class QueryCompiler:
    """Compiles queries with the configured field boosts; one parser per group, made on
    first use."""

    def __init__(self, config: Config) -> None:
        s = config.search
        self._max_terms = s.max_terms
        self._parsers: dict[str, Any] = {}
        self._boosts = {
            "title": s.title_boost,
            "summary": s.summary_boost,
            "body": s.body_boost,
        }
        self.synonyms = WatchedFile(s.synonyms, parse_synonyms, Synonyms())

    def compile(self, text: str, group: str = "and") -> Any:
        """The user's query (Whoosh syntax) as a Whoosh query, or QueryError saying why not."""
        _check_balanced(text)
        try:
            q = self._plain_query(text, group) if _is_plain(text) else self._parse(text, group)
        except Exception as exc:  # Whoosh's parser is lenient; anything else is our 400
            raise QueryError(f"cannot parse the query: {exc}", "q") from None
        _check_query(q, self._max_terms)
        # A fuzzy term must keep its first letter: Whoosh would otherwise compare it with
        # every word of the index (half a second for one term).
        return q.accept(
            lambda node: (
                wq.FuzzyTerm(
                    node.fieldname,
                    node.text,
                    boost=node.boost,
                    maxdist=node.maxdist,
                    prefixlength=1,
                )
                if isinstance(node, wq.FuzzyTerm)
                else node
            )
        )

    def _parse(self, text: str, group: str) -> Any:
        """The query by Whoosh's parser (one per group, made on first use)."""
        parser = self._parsers.get(group)
        if parser is None:
            parser = MultifieldParser(
                list(TEXT_FIELDS),
                make_schema(),
                fieldboosts=self._boosts,
                group=OrGroup if group == "or" else AndGroup,
            )
            parser.add_plugin(FuzzyTermPlugin())
            self._parsers[group] = parser
        return parser.parse(text)

    def _plain_query(self, text: str, group: str) -> Any:
        """What Whoosh's MultifieldParser makes of plain words, without running it (a
        tenth of a search's time): each word in any text field, all words (or any). A run
        of words that is a synonyms entry is itself or any of its synonyms."""
        join = wq.Or if group == "or" else wq.And
        clauses = []
        synonyms = self.synonyms.get()
        words = text.split()
        spans = synonyms.spans(words) if synonyms.table else [([w], ()) for w in words]
        for run, alternatives in spans:
            own = [c for c in (self._word(w, join) for w in run) if c is not None]
            if not alternatives or not own:  # stop words stay out, synonyms or not
                clauses.extend(own)
                continue
            options = [own[0]] if len(own) == 1 else [wq.And(own)]
            options += [c for c in map(self._synonym, alternatives) if c is not None]
            if options:
                clauses.append(wq.Or(options))
        # normalize() as the parser does: it folds repeated terms and single-child groups.
        return join(clauses).normalize()

    def _word(self, word: str, join: Any) -> Any:
        """One typed word in any text field (a word the analyzer splits: all its parts)."""

        def parts(field: str, terms: list[str], boost: float) -> Any:
            return join([wq.Term(field, t, boost=boost) for t in terms])

        return self._in_any_field(word, parts)

    def _synonym(self, text: str) -> Any:
        """A synonym in any text field: a word, or its words as a phrase (positions count
        the words the analyzer keeps, so "Côte d'Ivoire" is the phrase "cote ivoir")."""
        return self._in_any_field(text, lambda f, terms, boost: wq.Phrase(f, terms, boost=boost))

    def _in_any_field(self, text: str, several: Any) -> Any:
        """The text's terms in any text field, with the field's boost: one term as a Term,
        several as `several(field, terms, boost)`; None when the analyzer keeps none."""
        terms = [t.text for t in TEXT_ANALYZER(text)]
        if not terms:
            return None
        fields = []
        for f in TEXT_FIELDS:
            boost = self._boosts.get(f, 1.0)
            one = len(terms) == 1
            fields.append(wq.Term(f, terms[0], boost=boost) if one else several(f, terms, boost))
        return wq.Or(fields)


def _is_plain(text: str) -> bool:
    """Words only: no quotes, brackets, operators, fields, wildcards or boosts."""
    return bool(text.split()) and _plain_words(text) > 0 and "'" not in text and "=" not in text


def _plain_words(text: str) -> int:
    """How many plain words the query has; 0 if it uses any query syntax."""
    if any(c in text for c in '"():*?~^[]{}'):
        return 0
    words = text.split()
    if any(w in OPERATORS for w in words):
        return 0
    return len(words)


def _check_balanced(text: str) -> None:
    if text.count('"') % 2:
        raise QueryError('unbalanced quote: close the " or remove it', "q")
    depth = 0
    in_quote = False
    for c in text:
        if c == '"':
            in_quote = not in_quote
        elif not in_quote and c == "(":
            depth += 1
        elif not in_quote and c == ")":
            depth -= 1
            if depth < 0:
                raise QueryError("unbalanced parenthesis: ')' without '('", "q")
    if depth:
        raise QueryError("unbalanced parenthesis: '(' without ')'", "q")


def _check_query(q: Any, max_terms: int) -> None:
    nodes = list(_walk(q))
    for node in nodes:
        error = getattr(node, "error", None)
        if error:
            raise QueryError(f"cannot parse the query: {error}", "q")
    leaves = [n for n in nodes if n.is_leaf()]
    if not leaves or all(isinstance(n, type(wq.NullQuery)) for n in leaves):
        raise QueryError(
            "the query has nothing to search for (only operators, stop words or punctuation)",
            "q",
        )
    if len(leaves) > max_terms:
        raise QueryError(f"the query has too many terms ({len(leaves)}; limit {max_terms})", "q")
    for node in leaves:
        text = getattr(node, "text", "")
        if isinstance(node, wq.Every) and node.fieldname:
            raise QueryError(
                f"'{node.fieldname}:*' matches everything: leave q empty to browse", "q"
            )
        if isinstance(node, wq.Wildcard | wq.Prefix):
            stem = text.split("*")[0].split("?")[0] if isinstance(node, wq.Wildcard) else text
            if len(stem) < 2:
                raise QueryError(
                    f"'{text}': a wildcard needs at least 2 letters before * or ?", "q"
                )
        if isinstance(node, wq.FuzzyTerm):
            if len(text) < 3:
                raise QueryError(f"'{text}~': fuzzy search needs at least 3 letters", "q")
            if node.maxdist > 2:
                raise QueryError(f"'{text}~{node.maxdist}': fuzzy distance is at most 2", "q")


def _check_expansions(q: Any, reader: Any, limit: int) -> None:
    """A prefix or wildcard that matches more than `limit` words is refused: it would be
    a union of thousands of terms, seconds of work for one query."""
    for node in _walk(q):
        if isinstance(node, wq.Prefix | wq.Wildcard):
            count = sum(1 for _ in islice(prefix_terms(node, reader), limit + 1))
            if count > limit:
                shown = node.text + ("*" if isinstance(node, wq.Prefix) else "")
                raise QueryError(
                    f"'{shown}' matches too many words (more than {limit}): type more of the word",
                    "q",
                )


def _walk(q: Any) -> Any:
    yield q
    if not q.is_leaf():
        for child in q.children():
            yield from _walk(child)
