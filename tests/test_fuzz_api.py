"""Property-based tests of the HTTP API: whatever a client sends, never a 5xx, and an
error always has the error shape."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import SEED_EVENT_ID, config_for, sample_client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchsvc.config import SAMPLE_CONTENT

PARAMS = [
    "q",
    "tag",
    "location",
    "kind",
    "story",
    "from",
    "to",
    "sort",
    "page",
    "per_page",
    "limit",
    "format",
    "x",
]
NASTY = [
    "",
    " ",
    "AND",
    "OR NOT",
    "NOT",
    '"',
    '""',
    "(",
    ")",
    "((a)",
    "a)",
    "*",
    "**",
    "?",
    "a*",
    "*a*",
    "ab*",
    "th*",
    "~",
    "a~",
    "abc~9",
    "douentza~2",
    "^",
    "a^9999",
    "[",
    "]",
    "[a TO b]",
    "date:[2013 TO 2012]",
    "date:[1900 to]",
    "date:xyz",
    "date:2013-02-30",
    "tags:",
    ":",
    "::",
    "unknown:field",
    "title:",
    "title:*",
    "*:*",
    "id:../../etc/passwd",
    "-1",
    "0",
    "999999999999999999999",
    "²",
    "٣",
    "1" * 5000,
    "1e308",
    "NaN",
    "%00",
    "\x00",
    "\x1b[31m",
    "\ud7ff",
    "'",
    "''",
    "\\",
    "/",
    "\u202e",
    "🦘",
    "Tōhoku",
    "a" * 1001,
    "OR " * 400,
    " ".join(f"w{i}" for i in range(100)),
    "AND AND",
    '"unbalanced',
    "a AND (b OR",
]
value = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=60),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.from_regex(r"\d{4}(-\d{1,2}(-\d{1,2})?)?", fullmatch=True),
)
pairs = st.lists(st.tuples(st.sampled_from(PARAMS), value), max_size=8)


@pytest.fixture(scope="module")
def client(sample_index):
    return sample_client(sample_index)


def check(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.mimetype == "application/json":
        body = response.get_json()
        if response.status_code >= 400:
            assert set(body) == {"error"}, body
            assert {"code", "message"} <= set(body["error"])
            assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "site-packages" not in text


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(pairs)
def test_search(client, query):
    check(client.get("/search", query_string=query))


@FUZZ
@given(pairs)
def test_suggest(client, query):
    check(client.get("/suggest", query_string=query))


@FUZZ
@given(pairs)
def test_search_page(client, query):
    check(client.get("/", query_string=query))


@FUZZ
@given(st.one_of(st.sampled_from(NASTY), st.text(max_size=80)), pairs)
def test_documents_and_related(client, doc_id, query):
    path = quote(doc_id, safe="/") or "x"
    check(client.get(f"/events/{path}"))
    check(client.get(f"/events/{path}/related", query_string=query))
    check(client.get(f"/doc/{path}"))


@FUZZ
@given(pairs)
def test_related_of_a_real_event(client, query):
    check(client.get(f"/events/{SEED_EVENT_ID}/related", query_string=query))


# Every parameter of every endpoint, over its whole type: the names come from the OpenAPI
# document (a new parameter is fuzzed without touching this file), plus one unknown name.
def _endpoint_params() -> dict[str, list[str]]:
    from searchsvc.web.openapi import spec

    out = {}
    for path, ops in spec()["paths"].items():
        for op in ops.values():
            names = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
            out[path.replace("{doc_id}", SEED_EVENT_ID)] = [*names, "x"]
    out["/"] = out["/search"]  # the search page takes the search parameters
    out[f"/doc/{SEED_EVENT_ID}"] = ["x"]
    out["/opensearch.xml"] = ["x"]
    return out


ENDPOINT_PARAMS = _endpoint_params()
DIGITS = st.characters(categories=["Nd", "No"])  # ٣, ３, ², ½ ... (str.isdigit() is true)


def _to_digits(text: str, alphabet: str) -> str:
    return "".join(alphabet[int(c)] if c.isascii() and c.isdigit() else c for c in text)


whole_type = st.one_of(
    st.just(""),
    st.sampled_from([" ", "\t", "\x00", "+", "-", "0", "00", "-0", "+1", "1.5", "1e3", "NaN"]),
    st.integers().map(str),  # any size, negative included
    st.integers(min_value=-(10**400), max_value=10**400).map(str),
    st.text(DIGITS, min_size=1, max_size=12),
    st.builds(  # date-shaped, years from far before 1 to far after 9999
        lambda y, m, d, shape: [f"{y:04d}", f"{y:04d}-{m:02d}", f"{y:04d}-{m}-{d}"][shape],
        st.one_of(st.integers(-99999, 99999), st.sampled_from([0, 1, 999, 1000, 9999, 10000])),
        st.one_of(st.integers(-1, 100), st.sampled_from([0, 1, 2, 12, 13])),
        st.one_of(st.integers(-1, 100), st.sampled_from([0, 1, 28, 29, 30, 31, 32])),
        st.integers(0, 2),
    ),
    st.builds(  # the same in other scripts' digits
        _to_digits,
        st.from_regex(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?", fullmatch=True),
        st.sampled_from(["٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "०१२३४५६७८९", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"]),
    ),
    st.text(max_size=300),  # any Unicode, control characters included
    st.text(st.characters(codec="utf-8"), min_size=190, max_size=1200),  # around the limits
)


@pytest.mark.parametrize("path", list(ENDPOINT_PARAMS))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_every_parameter_over_its_whole_type(client, path, data):
    names = ENDPOINT_PARAMS[path]
    query = data.draw(
        st.lists(st.tuples(st.sampled_from(names), whole_type), max_size=len(names) + 3),
        label="query",
    )
    check(client.get(path, query_string=query))


@pytest.mark.parametrize("value", ["²", "1" * 5000, "0", "-1", "٣٣٣", "5 5"])
def test_limits_are_whole_numbers_in_range(client, value):
    # "²" passes str.isdigit() but not int(): it once made /suggest and /related fail.
    for path in ("/suggest", f"/events/{SEED_EVENT_ID}/related"):
        r = client.get(path, query_string={"q": "Mali", "limit": value})
        assert r.status_code == 400, (path, value, r.status_code)
        assert r.get_json()["error"]["param"] == "limit"


@pytest.mark.parametrize(
    "query",
    [
        {"from": "0001"},
        {"from": "0989"},
        {"to": "0001"},
        {"from": "0001-01-01", "to": "0001-01-01"},
        {"from": "9999"},
        {"from": "9999-12-31"},
        {"from": "2013-1-2", "to": "2013-1-31"},
        {"from": "2012-02-29"},
        {"to": "9999"},
        {"to": "9999-12"},
        {"to": "9999-12-31"},
        {"from": "9999-12-31", "to": "9999-12-31"},
    ],
)
def test_every_year_from_1_to_9999_is_answered(client, query):
    for path in ("/search", f"/events/{SEED_EVENT_ID}/related"):
        r = client.get(path, query_string=query)
        assert r.status_code == 200, (path, query, r.get_data(as_text=True)[:300])


@pytest.mark.parametrize(
    "value",
    [
        "0000",
        "0000-01-01",
        "2013-00",
        "2013-13",
        "2013-00-10",
        "2013-01-00",
        "2013-02-30",
        "2013-02-29",
        "2013-04-31",
        "10000",
        "999",
        "2013-001",
        "٢٠١٣",  # Arabic-Indic digits: \d takes them, a date must not
        "２０１３",  # fullwidth digits
        "2013-٠١",
        "²⁰¹³",
        "2013/01/21",
        "-2013",
        "+2013",
    ],
)
def test_impossible_dates_are_400_naming_the_parameter(client, value):
    for param in ("from", "to"):
        for path in ("/search", f"/events/{SEED_EVENT_ID}/related", "/"):
            r = client.get(path, query_string={param: value})
            assert r.status_code == 400, (path, param, value, r.status_code)
            if path != "/":
                assert r.get_json()["error"]["param"] == param


@pytest.mark.parametrize("value", ["", " ", "\t"])
def test_empty_values_mean_not_given(client, value):
    """`page=` is "no page", as `tag=` is "no tag": the defaults apply."""
    given = {
        "/search": ["page", "per_page", "sort", "from", "to", "tag", "q"],
        "/suggest": ["limit", "format", "q"],
        f"/events/{SEED_EVENT_ID}/related": ["limit", "from", "to", "tag"],
    }
    for path, names in given.items():
        plain = client.get(path, query_string={"q": "Mali"} if path != "/suggest" else {})
        for name in names:
            r = client.get(path, query_string={name: value})
            assert r.status_code == 200, (path, name, r.get_data(as_text=True)[:300])
            if name not in ("q", "tag") and path != "/suggest":
                body, base = r.get_json(), plain.get_json()
                assert body.get("per_page") == base.get("per_page")
                assert body.get("limit") == base.get("limit")
    assert client.get("/search", query_string={"page": ""}).get_json()["page"] == 1


@pytest.mark.parametrize("value", ["²", "٣", "１", "1.0", "1e2", "0x10", "1_0", "- 1"])
def test_numbers_are_ascii_digits(client, value):
    for path, name in (("/search", "page"), ("/search", "per_page"), ("/suggest", "limit")):
        r = client.get(path, query_string={name: value})
        assert r.status_code == 400 and r.get_json()["error"]["param"] == name, (name, value)


def test_methods_and_bodies(client):
    for method in ("post", "put", "delete", "patch"):
        check(getattr(client, method)("/search", data="x" * 100))
    check(client.post("/admin/reindex", data="x" * 10_000_000))


WORDS = ["Mali", "AND", "OR", "NOT", "ANDNOT", "REQUIRE", "the", "U.S.", "Tōhoku", "co-op", "00;01"]


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(st.sampled_from(list("abXY éō019.,-_/!#$%&+;<>@|\t\u00a0")), min_size=1),
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map(" ".join),
    ),
    st.sampled_from(["and", "or"]),
)
def test_plain_words_skip_the_parser_but_mean_the_same(text: str, group: str) -> None:
    """Plain words are compiled without Whoosh's query parser (it costs a tenth of a
    search); what they compile to must be exactly what the parser makes of them."""
    from searchsvc.index.compile import _is_plain
    from searchsvc.index.searching import SearchIndex

    assert _is_plain("U.S. troops in Tōhoku") and not _is_plain("Mali AND troops")
    index = SearchIndex(config_for(SAMPLE_CONTENT, Path("unused-index")))
    if _is_plain(text):
        assert index._plain_query(text, group) == index._parse(text, group)


# The operator endpoints (/livez, /readyz, /metrics, /admin/analytics, /admin/) with their
# tokens configured: hostile parameters and hostile credentials.
OPS_TOKEN = "fuzz-admin-token"
authorization = st.one_of(
    st.sampled_from(
        [
            "",
            "Bearer",
            "Bearer ",
            f"Bearer {OPS_TOKEN}",
            f"bearer {OPS_TOKEN}",
            f"Bearer {OPS_TOKEN}x",
            "Basic",
            "Basic !!",
            "Basic " + "QQ" * 3000,
            "Basic " + base64.b64encode(f"a:{OPS_TOKEN}".encode()).decode(),
            "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
            "Basic " + base64.b64encode(b"no-colon").decode(),
        ]
    ),
    st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=80),
)


@pytest.fixture(scope="module")
def ops_client(sample_index):
    return sample_client(sample_index, **{"admin.token": OPS_TOKEN, "metrics.token": OPS_TOKEN})


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/metrics", "/admin/analytics", "/admin/"])
@FUZZ
@given(
    query=st.lists(st.tuples(st.sampled_from(["days", "limit", "x", "q"]), whole_type), max_size=5),
    auth=authorization,
)
def test_operator_endpoints_under_hostile_input(ops_client, path, query, auth):
    headers = {"Authorization": auth} if auth else {}
    response = ops_client.get(path, query_string=query, headers=headers)
    check(response)
    if path.startswith("/admin") or path == "/metrics":
        assert response.status_code in (200, 400, 401, 403, 414), response.status_code
        assert response.headers["Cache-Control"] == "no-store"
    for method in ("post", "put", "delete"):
        check(getattr(ops_client, method)(path, headers=headers, data="x" * 100))
