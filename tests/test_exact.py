"""Totals, facets and pages are exactly true: the service against an oracle.

The oracle shares no code with the index: it parses the sample's files (the parsing stage),
analyses their text with the project's analyzer, and decides by a plain scan which
documents a request matches. Hypothesis draws the requests (query trees rendered in the
query syntax, filters, sorts, pages) from the sample's own words, labels and dates, and
the answers of `/search` and `/events/<id>/related` are compared with the oracle's:

- `total` is the number of matching documents; every facet counts over all of them;
- sorted by date, every page is the oracle's slice (undated last, then by id);
- by relevance, every page holds matching documents only, and all pages together hold
  each matching document exactly once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import sample_client
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from searchsvc.index.schema import TEXT_ANALYZER
from searchsvc.model import Document
from searchsvc.parsing import classify, parse_file

TEXT = ("title", "summary", "body")
FACET_SIZE = 20  # the facets list the 20 most frequent values


def terms(text: str) -> list[str]:
    return [t.text for t in TEXT_ANALYZER(text)]


@dataclass
class Doc:
    id: str
    kind: str
    date: dt.date | None
    story: str
    tags: list[str]
    locations: list[str]
    fields: dict[str, list[list[str]]]  # field -> runs of terms (phrases stay in a run)

    def __post_init__(self) -> None:
        self.terms = {t for runs in self.fields.values() for run in runs for t in run}

    def has(self, term: str) -> bool:
        return term in self.terms

    def has_any(self, wanted: set[str]) -> bool:
        return not self.terms.isdisjoint(wanted)

    def has_phrase(self, seq: list[str]) -> bool:
        n = len(seq)
        return any(
            run[i : i + n] == seq
            for runs in self.fields.values()
            for run in runs
            for i in range(len(run) - n + 1)
        )


def _url(u: str) -> str:
    p = urlsplit(u.strip())
    return p.netloc.lower().removeprefix("www.") + p.path.rstrip("/")


def oracle_docs(root: Path) -> dict[str, Doc]:
    """Every indexable document of the tree, as the content format defines it: an event
    is also found by the words of the source texts that belong to it."""
    parsed: list[Document] = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            role = classify(rel, ("news/**/*.md",), ("sources/**/*",), ("news/*/*/*/index.md",))
            res = parse_file(path, root, rel, role, 2_000_000)
            if isinstance(res, Document):
                parsed.append(res)
    sources = [d for d in parsed if d.kind == "source"]
    out = {}
    for d in parsed:
        body = [terms(d.body)]
        if d.kind == "event":
            urls = {_url(s.url) for s in d.sources if s.url}
            for s in sources:
                if s.event == d.id or (s.url and _url(s.url) in urls):
                    body += [terms(s.title), terms(s.summary), terms(s.body)]
        out[d.id] = Doc(
            id=d.id,
            kind=d.kind,
            date=d.date,
            story=(d.story or "").lower(),
            tags=sorted({t.lower() for t in d.tags}),
            locations=sorted({p.lower() for p in d.locations}),
            fields={"title": [terms(d.title)], "summary": [terms(d.summary)], "body": body},
        )
    return out


# --- queries: trees rendered in the query syntax, and evaluated by the oracle ----------


def lev(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def bounds(text: str) -> tuple[dt.date, dt.date]:
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 1:
        return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)
    if len(parts) == 2:
        return dt.date(parts[0], parts[1], 1), month_end(parts[0], parts[1])
    day = dt.date(*parts)
    return day, day


def evaluate(node: tuple, docs: dict[str, Doc]) -> set[str]:
    kind, *args = node
    every = set(docs)
    if kind == "word":
        (t,) = terms(args[0])
        return {i for i, d in docs.items() if d.has(t)}
    if kind == "phrase":
        seq = terms(" ".join(args[0]))
        return {i for i, d in docs.items() if d.has_phrase(seq)}
    vocabulary = {t for d in docs.values() for t in d.terms}
    if kind == "prefix":
        # As Whoosh's parser does: the prefix goes through the analyzer as one word
        # (lowercased, accents folded, and stemmed: "ASE*" looks for "as*").
        p = next(TEXT_ANALYZER(args[0], tokenize=False, removestops=False)).text
        wanted = {t for t in vocabulary if t.startswith(p)}
        return {i for i, d in docs.items() if d.has_any(wanted)}
    if kind == "fuzzy":
        (t,) = terms(args[0])
        wanted = {
            u for u in vocabulary if u[:1] == t[:1] and abs(len(u) - len(t)) <= 1 and lev(t, u) <= 1
        }
        return {i for i, d in docs.items() if d.has_any(wanted)}
    if kind == "tag":
        return {i for i, d in docs.items() if args[0].lower() in d.tags}
    if kind == "location":
        return {i for i, d in docs.items() if args[0].lower() in d.locations}
    if kind == "kind":
        return {i for i, d in docs.items() if d.kind == args[0]}
    if kind == "date":
        lo, hi = args
        return {i for i, d in docs.items() if d.date is not None and lo <= d.date <= hi}
    if kind == "and":
        return evaluate(args[0], docs) & evaluate(args[1], docs)
    if kind == "or":
        return evaluate(args[0], docs) | evaluate(args[1], docs)
    if kind == "andnot":
        return evaluate(args[0], docs) - evaluate(args[1], docs)
    if kind == "not":
        return every - evaluate(args[0], docs)
    raise AssertionError(kind)


def render(node: tuple) -> str:
    kind, *args = node
    if kind == "word":
        return args[0]
    if kind == "phrase":
        return '"' + " ".join(args[0]) + '"'
    if kind == "prefix":
        return args[0] + "*"
    if kind == "fuzzy":
        return args[0] + "~"
    if kind in ("tag", "location"):
        return f"{kind}s:{args[0]}"
    if kind == "kind":
        return f"kind:{args[0]}"
    if kind == "date":
        return f"date:[{args[0].isoformat()} to {args[1].isoformat()}]"
    if kind == "not":
        return f"NOT ({render(args[0])})"
    op = {"and": "AND", "or": "OR", "andnot": "ANDNOT"}[kind]
    return f"({render(args[0])}) {op} ({render(args[1])})"


# --- the sample, once -------------------------------------------------------------------


class World(dict):
    """The sample as the oracle sees it (its repr stays short in Hypothesis reports)."""

    def __repr__(self) -> str:
        return "<the bundled sample>"


@pytest.fixture(scope="module")
def world(sample_index):
    docs = oracle_docs(sample_index / "content")
    words = Counter()
    phrases: list[list[str]] = []
    raw = re.compile(r"[A-Za-z]{2,}")
    for path in sorted((sample_index / "content").rglob("*.md"))[:400]:
        for line in path.read_text(encoding="utf-8").splitlines():
            found = raw.findall(line)
            words.update(w for w in found if len(terms(w)) == 1)
            if len(found) >= 3:
                phrases.append(found[:4])
    labels = lambda attr: sorted({v for d in docs.values() for v in getattr(d, attr)})  # noqa: E731
    client = sample_client(sample_index, **{"search.time_limit": 30.0})
    assert client.application.extensions["searchsvc.index"].answers.entries > 0
    return World(
        {
            "docs": docs,
            "client": client,
            "words": sorted(words),
            "phrases": [p for p in phrases if len(terms(" ".join(p))) >= 2][:500],
            "tags": labels("tags"),
            "locations": labels("locations"),
            "stories": sorted({d.story for d in docs.values() if d.story}),
            "days": sorted({d.date for d in docs.values() if d.date}),
        }
    )


def queries(w: dict) -> st.SearchStrategy[tuple]:
    word = st.sampled_from(w["words"])
    one_word_labels = lambda xs: [x for x in xs if re.fullmatch(r"[a-z]+", x)]  # noqa: E731
    day = st.sampled_from(w["days"])
    leaves = st.one_of(
        word.map(lambda x: ("word", x)),
        st.sampled_from(w["phrases"]).map(lambda p: ("phrase", p)),
        word.filter(lambda x: len(x) >= 4).map(lambda x: ("prefix", x[: max(3, len(x) - 3)])),
        # A fuzzy term is its stem within one edit, and needs 3 letters ("being~" is "be~").
        word.filter(lambda x: len(terms(x)[0]) >= 3).map(lambda x: ("fuzzy", x)),
        st.sampled_from(one_word_labels(w["tags"])).map(lambda x: ("tag", x)),
        st.sampled_from(one_word_labels(w["locations"])).map(lambda x: ("location", x)),
        st.sampled_from(["event", "source"]).map(lambda x: ("kind", x)),
        st.tuples(day, day).map(lambda ab: ("date", min(ab), max(ab))),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.tuples(st.sampled_from(["and", "or", "andnot"]), inner, inner),
            inner.map(lambda x: ("not", x)),
        ),
        max_leaves=4,
    )


def filters(w: dict) -> st.SearchStrategy[dict[str, list[str]]]:
    def period(d: dt.date, grain: int) -> str:
        return d.isoformat()[: (4, 7, 10)[grain]]

    day = st.sampled_from(w["days"])
    return st.fixed_dictionaries(
        {},
        optional={
            "tag": st.lists(st.sampled_from(w["tags"]), min_size=1, max_size=2),
            "location": st.lists(st.sampled_from(w["locations"]), min_size=1, max_size=2),
            "kind": st.lists(st.sampled_from(["event", "source"]), min_size=1, max_size=1),
            "story": st.lists(st.sampled_from(w["stories"]), min_size=1, max_size=1),
            "from": st.tuples(day, st.integers(0, 2)).map(lambda x: [period(*x)]),
            "to": st.tuples(day, st.integers(0, 2)).map(lambda x: [period(*x)]),
        },
    )


def filtered(docs: dict[str, Doc], params: dict[str, list[str]]) -> set[str] | None:
    """The documents the filters let through; None when from is after to (a 400)."""
    lo = bounds(params["from"][0])[0] if "from" in params else None
    hi = bounds(params["to"][0])[1] if "to" in params else None
    if lo and hi and lo > hi:
        return None
    out = set()
    for i, d in docs.items():
        if any(t.lower() not in d.tags for t in params.get("tag", [])):
            continue
        if any(p.lower() not in d.locations for p in params.get("location", [])):
            continue
        if any(k != d.kind for k in params.get("kind", [])):
            continue
        if any(s.lower() != d.story for s in params.get("story", [])):
            continue
        if (lo or hi) and (d.date is None or (lo and d.date < lo) or (hi and d.date > hi)):
            continue
        out.add(i)
    return out


def facet_counts(docs: dict[str, Doc], found: set[str]) -> dict[str, list[tuple[str, int]]]:
    tags, places, years, kinds = Counter(), Counter(), Counter(), Counter()
    for i in found:
        d = docs[i]
        tags.update(d.tags)
        places.update(d.locations)
        kinds[d.kind] += 1
        if d.date:
            years[d.date.year] += 1
    top = lambda c: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_SIZE]  # noqa: E731
    return {
        "tags": top(tags),
        "locations": top(places),
        "year": [(str(y), n) for y, n in sorted(years.items(), key=lambda kv: (-kv[1], -kv[0]))][
            :FACET_SIZE
        ],
        "kind": sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])),
    }


def date_order(docs: dict[str, Doc], found: set[str], newest_first: bool) -> list[str]:
    """The documented order of sort=date / sort=-date: by date, undated last, then by id."""
    dated = sorted((i for i in found if docs[i].date), key=lambda i: docs[i].id)
    dated.sort(key=lambda i: docs[i].date, reverse=newest_first)
    return dated + sorted(i for i in found if not docs[i].date)


def examples(n: int):
    """Hypothesis settings of these tests: n examples, no deadline (a request pages
    through its whole result)."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def get(client, path: str, params: dict[str, list[str]]):
    """The answer, asked twice: the answer cache is on (config.toml's default), so the
    second one, asked with the parameters in reverse order, is the cached one; the oracle
    checks it, and it must be the first one (but for its time)."""
    pairs = [(k, v) for k, vs in params.items() for v in vs]
    first = client.get(path, query_string=pairs)
    again = client.get(path, query_string=pairs[::-1])
    assert again.status_code == first.status_code
    body, cached = first.get_json(), again.get_json()
    if isinstance(body, dict) and "took_ms" in body:
        body, cached = dict(body, took_ms=0), dict(cached, took_ms=0)
    assert cached == body
    return again.status_code, again.get_json()


def check_answer(w: dict, params: dict[str, list[str]], expected: set[str]) -> None:
    docs, client = w["docs"], w["client"]
    status, body = get(client, "/search", params)
    assert status == 200, body
    assert not body.get("partial")
    assert body["total"] == len(expected), (params, sorted(expected)[:5])
    want = facet_counts(docs, expected)
    got = {
        k: [
            ((v["value"].lower() if k in ("tags", "locations") else v["value"]), v["count"])
            for v in vs
        ]
        for k, vs in body["facets"].items()
    }
    assert got == want, params
    sort = params.get("sort", ["relevance"])[0]
    per_page = int(params["per_page"][0])
    pages = -(-len(expected) // per_page)
    seen: list[str] = [h["id"] for h in body["hits"]]
    for page in range(2, pages + 1):
        status, more = get(client, "/search", {**params, "page": [str(page)]})
        assert status == 200 and more["total"] == len(expected)
        seen += [h["id"] for h in more["hits"]]
    if sort == "relevance" and params.get("q"):
        assert len(seen) == len(set(seen)), "a document on two pages"
        assert set(seen) == expected
    else:
        order = date_order(docs, expected, newest_first=sort != "date")
        assert seen == order, params


@examples(150)
@given(data=st.data())
def test_search_counts_and_pages_match_the_oracle(world, data):
    w = world
    tree = data.draw(queries(w), label="query")
    params = data.draw(filters(w), label="filters")
    params["sort"] = [data.draw(st.sampled_from(["relevance", "date", "-date"]), label="sort")]
    params["per_page"] = [str(data.draw(st.integers(3, 40), label="per_page"))]
    allowed = filtered(w["docs"], params)
    assume(allowed is not None)
    params["q"] = [render(tree)]
    status, body = get(w["client"], "/search", params)
    if status == 400:  # a prefix or fuzzy term that expands too far is refused, and says so
        assert "too many" in body["error"]["message"], body
        return
    check_answer(w, params, evaluate(tree, w["docs"]) & allowed)


@examples(60)
@given(data=st.data())
def test_plain_words_and_browsing_match_the_oracle(world, data):
    """Plain words mean all of them, or any of them when all find nothing (with the
    filters); no words at all browses every document the filters let through."""
    w = world
    words = data.draw(st.lists(st.sampled_from(w["words"]), min_size=0, max_size=3), label="q")
    params = data.draw(filters(w), label="filters")
    params["sort"] = [data.draw(st.sampled_from(["relevance", "date", "-date"]), label="sort")]
    params["per_page"] = [str(data.draw(st.integers(5, 60), label="per_page"))]
    allowed = filtered(w["docs"], params)
    assume(allowed is not None)
    if not words:
        expected = allowed
    else:
        params["q"] = [" ".join(words)]
        sets = [evaluate(("word", x), w["docs"]) for x in words]
        expected = set.intersection(*sets) & allowed
        if not expected and len(words) > 1:
            expected = set.union(*sets) & allowed
    check_answer(w, params, expected)


@examples(60)
@given(data=st.data())
def test_related_honours_every_filter(world, data):
    w = world
    docs = w["docs"]
    doc_id = data.draw(st.sampled_from(sorted(docs)), label="id")
    params = data.draw(filters(w), label="filters")
    params["limit"] = [str(data.draw(st.integers(1, 50), label="limit"))]
    allowed = filtered(docs, params)
    assume(allowed is not None)
    status, body = get(w["client"], f"/events/{doc_id}/related", params)
    assert status == 200, body
    ids = [h["id"] for h in body["hits"]]
    assert doc_id not in ids
    assert len(ids) == len(set(ids)) <= int(params["limit"][0])
    assert all(i in allowed and docs[i].kind == "event" for i in ids), params


def test_the_oracle_sees_what_the_sample_holds(world):
    """The oracle is not vacuous: the sample has both kinds, dates, tags and stories."""
    docs = world["docs"]
    assert {d.kind for d in docs.values()} == {"event", "source"}
    assert len(world["days"]) > 20 and len(world["tags"]) > 20 and world["stories"]
    _, body = get(world["client"], "/search", {"per_page": ["1"]})
    assert body["total"] == len(docs)
