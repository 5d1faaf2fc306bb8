"""Property-based tests of the content parser: arbitrary bytes, Markdown and front matter
give a document, a day page or a skip reason; the parser never raises, and never needs
its last-resort catch-all."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc.model import DayPage, Document, Skipped
from searchsvc.parsing import parse_bytes

ROLES = st.sampled_from(["event", "source", "sniff", "day"])
IDS = st.sampled_from(
    [
        "news/2013/01/21/x.md",
        "news/2013/02/30/y.md",
        "sources/a/b.txt",
        "misc/z",
        "news/0000/00/00/q.md",
    ]
)
date = st.one_of(
    st.dates().map(str),
    st.from_regex(r"\d{4}-\d{1,2}-\d{1,2}", fullmatch=True),
    st.text(max_size=12),
)
line = st.one_of(
    st.text(max_size=80),
    date.map(lambda d: f"### [{d}](/news/{d}/index.md)"),
    st.text(max_size=60).map(lambda t: f"# {t}"),
    st.sampled_from(["### Source:", "### Related:", "### Sources", "---", "...", "", "* * *"]),
    st.tuples(st.text(max_size=30), st.text(max_size=30)).map(lambda p: f"1. [{p[0]}]({p[1]})"),
    st.tuples(st.text(max_size=30), st.text(max_size=30)).map(
        lambda p: f"2. [{p[0]}](/news/x.md) _Context: {p[1]}_"
    ),
    st.text(max_size=40).map(lambda t: f"- {t}"),
)
front = st.one_of(
    st.just(""),
    st.lists(
        st.one_of(
            date.map(lambda d: f"date: {d}"),
            st.text(max_size=30).map(lambda t: f"title: {t}"),
            st.text(max_size=30).map(lambda t: f"tags: {t}"),
            st.text(max_size=30).map(lambda t: f"locations: [{t}]"),
            st.text(max_size=30).map(lambda t: f"event: {t}"),
            st.text(max_size=30),
        ),
        max_size=6,
    ).map(lambda ls: "---\n" + "\n".join(ls) + "\n---\n"),
)
markdown = st.tuples(front, st.lists(line, max_size=20)).map(lambda p: p[0] + "\n".join(p[1]))


def ok(result) -> None:
    assert isinstance(result, Document | DayPage | Skipped)
    if isinstance(result, Skipped):
        assert result.reason and not result.reason.startswith("could not parse"), result.reason
    if isinstance(result, Document):
        assert result.title and result.id


@settings(max_examples=400, deadline=None)
@given(IDS, st.binary(max_size=2000), ROLES)
def test_arbitrary_bytes(doc_id, data, role):
    ok(parse_bytes(doc_id, data, role))


@settings(max_examples=400, deadline=None)
@given(IDS, markdown, ROLES)
def test_arbitrary_markdown_and_front_matter(doc_id, text, role):
    ok(parse_bytes(doc_id, text.encode("utf-8", "surrogatepass"), role))
