"""/openapi.json is kept true: every route is described, every description is a route,
and real responses match their schemas."""

from __future__ import annotations

import re

import pytest
from conftest import SEED_EVENT_ID, sample_client
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc.config import SearchConfig
from searchsvc.query import (
    DATE_PATTERN,
    MAX_FILTER_CHARS,
    MAX_FILTER_VALUES,
    RELATED_PARAMS,
    SEARCH_PARAMS,
    SUGGEST_PARAMS,
    TEXT_PATTERN,
    QueryError,
    parse_date_bound,
)


@pytest.fixture(scope="module")
def client(sample_index):
    return sample_client(sample_index)


@pytest.fixture(scope="module")
def spec(client):
    return client.get("/openapi.json").get_json()


def validate(spec, schema, value, where="$"):
    """A small validator for the OpenAPI 3.0 subset the spec uses."""
    if "$ref" in schema:
        target = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return validate(spec, target, value, where)
    if "allOf" in schema:
        for sub in schema["allOf"]:
            validate(spec, sub, value, where)
        return None
    if value is None:
        assert schema.get("nullable"), f"{where}: null not allowed"
        return None
    kind = schema.get("type")
    checks = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "integer": int,
        "number": (int, float),
    }
    if kind:
        assert isinstance(value, checks[kind]), f"{where}: {value!r} is not {kind}"
        assert not (kind in ("integer", "number") and isinstance(value, bool)), where
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if kind == "object":
        for key in schema.get("required", []):
            assert key in value, f"{where}: missing {key}"
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                validate(spec, sub, value[key], f"{where}.{key}")
    if kind == "array":
        for i, item in enumerate(value):
            validate(spec, schema["items"], item, f"{where}[{i}]")
    return None


def test_every_route_is_described_and_every_description_is_a_route(client, spec):
    app = client.application
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("ui."):
            continue  # the HTML pages are not part of the JSON API
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    described = {(p, m) for p, ops in spec["paths"].items() for m in ops}
    assert routes == described


def schema_for(spec, path, status="200"):
    op = spec["paths"][path]["get"]
    response = op["responses"][status]
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]["application/json"]["schema"]


@pytest.mark.parametrize(
    ("path", "url", "status"),
    [
        ("/search", "/search?q=Douentza", "200"),
        ("/search", "/search?tag=Mali&per_page=3&sort=-date", "200"),
        ("/search", "/search?q=%22unbalanced", "400"),
        ("/events/{doc_id}", f"/events/{SEED_EVENT_ID}", "200"),
        ("/events/{doc_id}", "/events/nope.md", "404"),
        ("/events/{doc_id}/related", f"/events/{SEED_EVENT_ID}/related?limit=3", "200"),
        ("/suggest", "/suggest?q=dou", "200"),
        ("/health", "/health", "200"),
        ("/stats", "/stats", "200"),
        ("/openapi.json", "/openapi.json", "200"),
    ],
)
def test_responses_match_their_schemas(client, spec, path, url, status):
    response = client.get(url)
    assert str(response.status_code) == status
    validate(spec, schema_for(spec, path, status), response.get_json())


def test_parameters_are_described(spec):
    names = {p["name"] for p in spec["paths"]["/search"]["get"]["parameters"]}
    assert names >= {"q", "tag", "location", "kind", "story", "from", "to", "sort", "page"}
    assert names == {p.name for p in SEARCH_PARAMS}


def _out_of_bounds(schema):
    """A value the schema refuses."""
    if schema["type"] == "array":
        return _out_of_bounds(schema["items"])
    if schema["type"] == "integer":
        return str(schema["maximum"] + 1)
    if "enum" in schema:
        return "no-such-" + schema["enum"][0]
    if schema.get("pattern") == DATE_PATTERN:
        return "2013-02-30"
    return "x" * (schema["maxLength"] + 1)


@pytest.mark.parametrize(
    ("path", "declared"),
    [
        ("/search", SEARCH_PARAMS),
        ("/suggest", SUGGEST_PARAMS),
        ("/events/{doc_id}/related", RELATED_PARAMS),
    ],
)
def test_each_declared_parameter_is_described_and_checked_as_described(
    client, spec, path, declared
):
    """The description and the validation come from one declaration: every parameter the
    document lists is one the service reads, and a value outside its schema gets a 400
    that names it."""
    described = {
        p["name"]: p for p in spec["paths"][path]["get"]["parameters"] if p["in"] == "query"
    }
    assert list(described) == [p.name for p in declared]
    url = path.replace("{doc_id}", SEED_EVENT_ID)
    for name, param in described.items():
        r = client.get(url, query_string={name: _out_of_bounds(param["schema"])})
        assert r.status_code == 400, (name, r.get_json())
        assert r.get_json()["error"]["param"] == name


def test_the_server_url_does_not_echo_the_host_header(client):
    body = client.get("/openapi.json", headers={"Host": "evil.example"}).get_json()
    assert body["servers"] == [{"url": "/", "description": "this server"}]
    assert "evil.example" not in str(body)


def test_opensearch_suggestions_are_described(client, spec):
    r = client.get("/suggest?q=douent&format=opensearch")
    content = spec["paths"]["/suggest"]["get"]["responses"]["200"]["content"]
    assert r.mimetype in content
    schema = content[r.mimetype]["schema"]
    body = r.get_json(force=True)
    validate(spec, schema, body)
    assert len(body) == 2 and schema["minItems"] == schema["maxItems"] == 2
    assert body == ["douent", ["Douentza"]]


def test_every_operation_declares_the_errors_any_request_can_get(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for status in ("400", "405", "408", "413", "414", "431"):
                assert status in op["responses"], (path, method, status)
    for status in ("405", "408", "413", "414", "431"):
        assert spec["components"]["responses"][f"E{status}"]


def test_the_example_id_reaches_a_document(client, spec):
    param = next(
        p for p in spec["paths"]["/events/{doc_id}"]["get"]["parameters"] if p["name"] == "doc_id"
    )
    assert "/" in param["example"]
    r = client.get("/events/" + param["example"])
    assert r.status_code == 200 and r.get_json()["id"] == param["example"]


def test_the_limits_are_in_the_document(spec):
    params = {p["name"]: p for p in spec["paths"]["/search"]["get"]["parameters"]}
    for name in ("tag", "location", "story"):
        schema = params[name]["schema"]
        assert schema["maxItems"] == MAX_FILTER_VALUES
        assert schema["items"]["maxLength"] == MAX_FILTER_CHARS
        assert schema["items"]["pattern"] == TEXT_PATTERN
    assert params["q"]["schema"]["maxLength"] == SearchConfig().max_query_chars
    assert params["q"]["schema"]["pattern"] == TEXT_PATTERN
    assert all(p["allowEmptyValue"] for p in params.values())
    assert params["from"]["schema"]["pattern"] == params["to"]["schema"]["pattern"] == DATE_PATTERN


def _accepted(value: str) -> bool:
    try:
        parse_date_bound(value, False, "from")
    except QueryError:
        return False
    return True


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.from_regex(r"[0-9]{4}(-[0-9]{1,2}(-[0-9]{1,2})?)?", fullmatch=True),
        st.builds(
            lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
            st.integers(0, 10000),
            st.integers(0, 13),
            st.integers(0, 32),
        ),
        st.text(st.sampled_from("0123456789-²٣１"), max_size=12),  # (spaces are stripped)
    )
)
def test_the_date_pattern_accepts_what_the_service_accepts(value):
    assert bool(re.search(DATE_PATTERN, value)) == _accepted(value), value


def test_the_date_pattern_on_edge_dates():
    for value in ("0000", "2013-00", "2013-02-30", "1900-02-29", "2013-13", "10000", "٢٠١٣"):
        assert not re.search(DATE_PATTERN, value) and not _accepted(value), value
    for value in ("0001", "9999-12-31", "2000-02-29", "2012-2-29", "0004-02-29", "0400-02-29"):
        assert re.search(DATE_PATTERN, value) and _accepted(value), value
