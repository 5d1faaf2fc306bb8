"""/openapi.json is kept true: every route is described, every description is a route,
and real responses match their schemas."""

from __future__ import annotations

import re

import pytest
from conftest import SEED_EVENT_ID, sample_client


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
    assert names == {
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
    }
