"""Schemathesis hooks for tests/test_contract.py (loaded with SCHEMATHESIS_HOOKS).

Two of Schemathesis's checks are replaced by stricter-where-it-matters versions, each for a
reason it cannot see from the document:

- `positive_data_acceptance` fails any 400 to a request the document allows. Two 400s no
  JSON Schema can express are allowed here, and only these: a `q` that is not a query
  (Whoosh syntax: `"unbalanced`, only operators, a leading wildcard, too many terms) and
  `from` after `to`. Every other 400 to schema-valid data is a failure, as are 413 and 431.
- `negative_data_rejection` fails a 2xx to a request it generated as invalid. Schemathesis
  mutates a value's type (an array into an object, a string into a number), and for query
  parameters some mutations come out on the wire as valid values (`tag=Ó`,
  `story=true`); its own guard misses some combinations. Here a 2xx to a negative case
  fails unless the request as sent is valid by the document.

"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import schemathesis

# The 400s of schema-valid requests the document cannot express (see above).
SEMANTIC_400 = {
    "q": re.compile(
        r"cannot parse|unbalanced|parenthes|nothing to search|wildcard|fuzzy|too many "
        r"terms|too many words|matches everything|field"
    ),
    "from": re.compile(r"is after to="),
    # Geography the schema cannot state: a place the index must know, numbers on the
    # Earth, a radius only with a centre.
    "near": re.compile(r"is not a location|has no coordinates|neither lat,lon|off the Earth"),
    "km": re.compile(r"give near too"),
    "bbox": re.compile(r"is not west,south,east,north|longitudes -180 to 180"),
}
ALLOWED_FOR_VALID = {401, 403, 404, 409, 414}  # credentials, ids, a run under way, URL size


@schemathesis.check
def schema_valid_requests_are_answered(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if status < 400 or status in ALLOWED_FOR_VALID or status >= 500:
        return None  # 5xx: not_a_server_error's
    if status == 400:
        error = response.json().get("error", {})
        rule = SEMANTIC_400.get(error.get("param", ""))
        if rule is not None and rule.search(error.get("message", "")):
            return None
    raise AssertionError(
        f"schema-valid request answered {status}: {response.text[:300]} ({case.formatted_path})"
    )


@schemathesis.check
def invalid_requests_are_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative or response.status_code >= 400:
        return None
    problems = wire_problems(case.operation.definition.raw, response.request.url)
    if problems:
        raise AssertionError(
            f"invalid request answered {response.status_code}: {'; '.join(problems)} "
            f"({response.request.url[:300]})"
        )
    return None


def wire_problems(operation: dict[str, Any], url: str) -> list[str]:
    """What is invalid in the query string as sent, by the operation's parameters (each
    value as the server reads it: a string, stripped; empty means not given)."""
    sent = parse_qs(urlsplit(url).query, keep_blank_values=True)
    problems: list[str] = []
    for param in operation.get("parameters", []):
        if param.get("in") != "query" or param["name"] not in sent:
            continue
        name, schema = param["name"], param["schema"]
        values = [v for v in sent[name] if v.strip()]
        if schema.get("type") == "array":
            if len(sent[name]) > schema.get("maxItems", 10**9):
                problems.append(f"{name}: {len(sent[name])} values")
            items = schema["items"]
            problems += [f"{name}: {p}" for v in values for p in _problems(items, v.strip())]
        elif len(sent[name]) > 1:
            problems.append(f"{name} given {len(sent[name])} times")
        else:
            problems += [f"{name}: {p}" for v in values for p in _problems(schema, v.strip())]
    return problems


def _problems(schema: dict[str, Any], value: str) -> list[str]:
    out = []
    if schema.get("type") == "integer":
        if not re.fullmatch(r"\+?[0-9]+", value):
            return [f"{value[:40]!r} is not an integer"]
        n = int(value)
        if not schema.get("minimum", n) <= n <= schema.get("maximum", n):
            out.append(f"{n} out of range")
        return out
    if "enum" in schema and value.strip() not in schema["enum"]:
        out.append(f"{value[:40]!r} not one of {schema['enum']}")
    if len(value) > schema.get("maxLength", 10**9):
        out.append(f"{len(value)} characters")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        out.append(f"{value[:40]!r} does not match {schema['pattern'][:40]}")
    return out
