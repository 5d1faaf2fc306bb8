"""CORS for the JSON API: off by default, on for exactly the origins configured, whether
they come from config.toml or from the environment (as JSON or comma-separated)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import sample_client

from searchsvc.config import ConfigError, load_config
from searchsvc.web import create_app

ALLOWED = "https://news.example"
# Origins a browser may send that are not the allowed one: the opaque origin of sandboxed
# frames and file: pages, look-alikes, and the allowed one with something added.
REFUSED = [
    "null",
    "https://news.example.evil.example",
    "https://news.example:8443",
    "http://news.example",
    "https://newsXexample",
    "https://evil.example",
    "https://news.example.",
    "https://xnews.example",
]


def test_off_by_default(sample_index):
    r = sample_client(sample_index).get("/search?q=Mali", headers={"Origin": ALLOWED})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers


def test_allowed_origins_only(sample_index):
    c = sample_client(sample_index, **{"cors.origins": (ALLOWED,)})
    ok = c.get("/search?q=Mali", headers={"Origin": ALLOWED})
    assert ok.headers["Access-Control-Allow-Origin"] == ALLOWED
    other = c.get("/search?q=Mali", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    page = c.get("/", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in page.headers  # pages stay same-origin
    preflight = c.options(
        "/suggest?q=dou",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize(
    "setting",
    [
        '["https://news.example"]',
        '[ "https://news.example", "https://other.example" ]',
        "https://news.example",
        "https://news.example, https://other.example",
    ],
)
def test_origins_from_the_environment_match_exactly(sample_index, setting):
    env = {"SEARCHSVC_CORS_ORIGINS": setting}
    config = load_config(
        path=None,
        env=env,
        flags={
            "content.root": str(sample_index / "content"),
            "index.dir": str(sample_index / "ix"),
        },
    )
    assert ALLOWED in config.cors.origins
    assert all(not o.startswith(("[", '"')) for o in config.cors.origins)
    c = create_app(config).test_client()
    for path in ("/search?q=Mali", "/suggest?q=dou"):
        assert (
            c.get(path, headers={"Origin": ALLOWED}).headers.get("Access-Control-Allow-Origin")
            == ALLOWED
        )
        for origin in REFUSED:
            r = c.get(path, headers={"Origin": origin})
            assert r.status_code == 200
            assert "Access-Control-Allow-Origin" not in r.headers, (setting, origin)
            preflight = c.options(
                path, headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
            )
            assert "Access-Control-Allow-Origin" not in preflight.headers, (setting, origin)


def test_origins_that_look_like_patterns_are_taken_literally(sample_index):
    # flask-cors takes a string with regex characters for a regex matched at its start.
    c = sample_client(sample_index, **{"cors.origins": (r"https://news\.example", "(x)")})
    for origin in ("https://news.example", "https://news.example.evil.example", "null", "x"):
        r = c.get("/search?q=Mali", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in r.headers, origin


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('["news/**/*.md", "events/*.md"]', ("news/**/*.md", "events/*.md")),
        ("news/**/*.md, events/*.md", ("news/**/*.md", "events/*.md")),
        ("news/**/*.md", ("news/**/*.md",)),
        ("[]", ()),
        ("", ()),
    ],
)
def test_list_settings_from_the_environment(value, expected):
    config = load_config(path=None, env={"SEARCHSVC_CONTENT_EVENT_GLOBS": value})
    assert config.content.event_globs == expected


@pytest.mark.parametrize("value", ['["a", 1]', '["unclosed"', "[1, 2]", '[["a"]]'])
def test_bad_lists_from_the_environment_are_refused(value):
    with pytest.raises(ConfigError, match=r"cors\.origins"):
        load_config(path=None, env={"SEARCHSVC_CORS_ORIGINS": value})


def test_lists_in_the_config_file_are_lists(tmp_path: Path):
    file = tmp_path / "config.toml"
    file.write_text('[cors]\norigins = ["https://news.example"]\n', encoding="utf-8")
    assert load_config(path=file, env={}).cors.origins == ("https://news.example",)
