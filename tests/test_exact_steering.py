"""Totals, facets and pages stay exactly true with spelling corrections and with
collapsing by story: the service against the oracle of tests/test_exact.py.

- a spelling correction (`corrected_query`, given only when the words as typed find fewer
  than `search.correct_below`) adds the documents the corrected words match: `total` and
  the facets count both sets, and the pages hold the exact matches first;
- `collapse=story`: `total` and the facets still count every match; the pages, together,
  hold each group once (a story's events, or a document of no story) as its first
  document in the order the search has without collapsing, and `total_groups` counts them.
"""

from __future__ import annotations

import math

from hypothesis import assume, given
from hypothesis import strategies as st
from test_exact import (
    check_answer,
    date_order,
    evaluate,
    examples,
    facet_counts,
    filtered,
    filters,
    get,
    queries,
    render,
    world,  # noqa: F401 - the fixture
)

CORRECT_BELOW = 3  # config.toml's search.correct_below


def typo(word: str, data: st.DataObject) -> str:
    """The word with one edit: a letter inserted, deleted, replaced, or two swapped."""
    i = data.draw(st.integers(0, len(word) - 1), label="at")
    edit = data.draw(st.sampled_from(["insert", "delete", "replace", "swap"]), label="edit")
    letter = data.draw(st.sampled_from("aeioustrn"), label="letter")
    if edit == "insert":
        return word[:i] + letter + word[i:]
    if edit == "delete":
        return word[:i] + word[i + 1 :]
    if edit == "replace":
        return word[:i] + letter + word[i + 1 :]
    return word[:i] + word[i + 1 : i + 2] + word[i : i + 1] + word[i + 2 :]


def all_of(words: list[str], docs) -> set[str]:
    return set.intersection(*[evaluate(("word", x), docs) for x in words])


@examples(60)
@given(data=st.data())
def test_corrections_add_their_matches_after_the_exact_ones(world, data):  # noqa: F811
    w = world
    docs = w["docs"]
    words = data.draw(st.lists(st.sampled_from(w["words"]), min_size=1, max_size=2), label="q")
    k = data.draw(st.integers(0, len(words) - 1), label="which")
    if len(words[k]) >= 5:
        words[k] = typo(words[k], data)
    params = data.draw(filters(w), label="filters")
    params["per_page"] = [str(data.draw(st.integers(3, 30), label="per_page"))]
    allowed = filtered(docs, params, w["places"])
    assume(allowed is not None)
    params["q"] = [" ".join(words)]
    status, body = get(w["client"], "/search", params)
    assert status == 200, body
    corrected = body.get("corrected_query")
    if corrected is None:
        check_answer(w, {**params, "spell": ["off"]}, _as_typed(words, docs, allowed))
        assert (
            body["total"] == get(w["client"], "/search", {**params, "spell": ["off"]})[1]["total"]
        )
        return
    exact = all_of(words, docs) & allowed
    assert len(exact) < CORRECT_BELOW
    more = all_of(corrected.split(), docs) & allowed
    assert more - exact, "a correction that adds nothing is not made"
    check_answer(w, params, exact | more)
    first = get(w["client"], "/search", {**params, "per_page": ["50"]})[1]
    assert {h["id"] for h in first["hits"][: len(exact)]} == exact


def test_a_correction_the_analyzer_splits_is_exact(world):  # noqa: F811
    # Found by the property above: "aHashimi" is corrected to "al-Hashimi", two terms
    # (each in the same field, as the query parser takes a hyphenated word).
    w = world
    params = {"q": ["aHashimi"], "per_page": ["30"]}
    status, body = get(w["client"], "/search", params)
    assert status == 200 and body["corrected_query"] == "al-Hashimi", body
    more = all_of(["al-Hashimi"], w["docs"])
    assert more and not all_of(["aHashimi"], w["docs"])
    check_answer(w, params, more)


def _as_typed(words: list[str], docs, allowed: set[str]) -> set[str]:
    found = all_of(words, docs) & allowed
    if not found and len(words) > 1:
        found = set.union(*[evaluate(("word", x), docs) for x in words]) & allowed
    return found


def group_of(docs, d: str) -> str:
    doc = docs[d]
    return f"story:{doc.story}" if doc.story and doc.kind == "event" else f"doc:{d}"


@examples(60)
@given(data=st.data())
def test_collapsed_pages_hold_each_group_once(world, data):  # noqa: F811
    w = world
    docs = w["docs"]
    params = data.draw(filters(w), label="filters")
    sort = data.draw(st.sampled_from(["relevance", "date", "-date"]), label="sort")
    per_page = data.draw(st.integers(2, 30), label="per_page")
    params.update(sort=[sort], spell=["off"])
    allowed = filtered(docs, params, w["places"])
    assume(allowed is not None)
    if data.draw(st.booleans(), label="with a query"):
        tree = data.draw(queries(w), label="query")
        params["q"] = [render(tree)]
        expected = evaluate(tree, docs) & allowed
    else:
        expected = allowed
    client = w["client"]
    status, whole = get(client, "/search", {**params, "per_page": ["100"]})
    if status == 400:
        assert "too many" in whole["error"]["message"]
        return
    # The order without collapsing: the oracle's for dates, the service's (whose pages
    # tests/test_exact.py checks) by relevance.
    if sort == "relevance" and "q" in params:
        order = [h["id"] for h in whole["hits"]]
        for page in range(2, math.ceil(whole["total"] / 100) + 1):
            order += [
                h["id"]
                for h in get(
                    client, "/search", {**params, "per_page": ["100"], "page": [str(page)]}
                )[1]["hits"]
            ]
    else:
        order = date_order(docs, expected, newest_first=sort != "date")
    assert set(order) == expected
    firsts: dict[str, str] = {}
    for d in order:
        firsts.setdefault(group_of(docs, d), d)
    want = [d for d in order if d in set(firsts.values())]
    shown: list[str] = []
    params["collapse"] = ["story"]
    params["per_page"] = [str(per_page)]
    for page in range(1, math.ceil(len(want) / per_page) + 2):
        status, body = get(client, "/search", {**params, "page": [str(page)]})
        assert status == 200, body
        assert body["total"] == len(expected) and body["total_groups"] == len(want)
        got = [h["id"] for h in body["hits"]]
        shown += got
        for h in body["hits"]:
            size = sum(1 for d in expected if group_of(docs, d) == group_of(docs, h["id"]))
            assert h.get("collapsed", 0) == (
                size - 1 if group_of(docs, h["id"]).startswith("story:") else 0
            )
    assert shown == want, params
    assert _facets(body) == facet_counts(docs, expected)


def _facets(body) -> dict:
    return {
        k: [
            ((v["value"].lower() if k not in ("year", "kind") else v["value"]), v["count"])
            for v in vs
        ]
        for k, vs in body["facets"].items()
    }


def test_the_properties_see_corrections_and_groups(world):  # noqa: F811
    """Not vacuous: the sample has a misspelling the index corrects, and stories."""
    w = world
    params = {"q": ["Douentzaa"], "per_page": ["3"]}
    body = get(w["client"], "/search", params)[1]
    assert body["corrected_query"] == "Douentza" and body["total"] >= 2
    check_answer(w, params, all_of(["Douentza"], w["docs"]))
    grouped = get(w["client"], "/search", {"collapse": ["story"], "tag": ["Mali"]})[1]
    assert grouped["total_groups"] < grouped["total"]
