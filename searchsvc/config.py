"""Configuration, loaded once into one object.

Precedence, lowest to highest: defaults here, `config.toml`, environment variables
`SEARCHSVC_<SECTION>_<KEY>` (e.g. `SEARCHSVC_SERVER_PORT=9000`), command-line flags.

The config file is `--config PATH`, else `$SEARCHSVC_CONFIG`, else `./config.toml` when it
exists. Relative paths in the file are relative to the file; relative paths from the
environment or flags are relative to the working directory.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "SEARCHSVC_"
SAMPLE_CONTENT = Path(__file__).parent / "sample" / "content"
ACCESS_LOG_FORMATS = ("text", "json", "off")


class ConfigError(ValueError):
    """A setting is unknown or has a value of the wrong kind."""


@dataclass(frozen=True)
class ContentConfig:
    root: Path = SAMPLE_CONTENT
    event_globs: tuple[str, ...] = ("news/**/*.md",)
    source_globs: tuple[str, ...] = ("sources/**/*.txt", "sources/**/*.md")
    day_globs: tuple[str, ...] = ("news/*/*/*/index.md",)
    max_file_bytes: int = 2_000_000


@dataclass(frozen=True)
class IndexConfig:
    dir: Path = Path("index")
    procs: int = 0
    lock_timeout: float = 60.0
    nice: int = 19
    run_timeout: float = 3600.0


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = 1
    timeout: int = 30
    max_body_bytes: int = 64 * 1024
    max_url_bytes: int = 8 * 1024


@dataclass(frozen=True)
class SearchConfig:
    per_page: int = 10
    max_per_page: int = 100
    max_page: int = 1000
    max_query_chars: int = 1000
    max_terms: int = 64
    max_expansions: int = 100
    time_limit: float = 1.0
    title_boost: float = 1.5
    summary_boost: float = 1.0
    body_boost: float = 0.7
    phrase_boost: float = 0.5
    source_weight: float = 0.6
    exact_boost: float = 0.7
    correct_below: int = 3
    recency_half_life_days: int = 0
    synonyms: Path | None = None
    pins: Path | None = None
    cache_entries: int = 5000
    vocabulary_refresh: float = 30.0


@dataclass(frozen=True)
class ScheduleConfig:
    enabled: bool = True
    interval: str = "5m"
    cron: str = ""


@dataclass(frozen=True)
class WatchConfig:
    enabled: bool = True
    debounce: float = 0.3
    max_delay: float = 5.0


@dataclass(frozen=True)
class AdminConfig:
    token: str = ""
    push_wait: float = 3.0


@dataclass(frozen=True)
class RelatedConfig:
    words: float = 0.5
    time: float = 0.5
    time_scale_days: float = 15.0
    locations: float = 0.25
    tags: float = 0.5
    story: float = 1.0
    links: float = 0.5


@dataclass(frozen=True)
class FollowConfig:
    source: str = ""
    interval: float = 2.0
    timeout: float = 60.0
    max_behind: int = 2


@dataclass(frozen=True)
class CorsConfig:
    origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class HttpConfig:
    max_age: int = 60
    compress: bool = True
    compress_min_bytes: int = 1024
    ready_intervals: int = 3


@dataclass(frozen=True)
class MetricsConfig:
    enabled: bool = True
    token: str = ""
    dir: str = ""


@dataclass(frozen=True)
class LogConfig:
    access: str = "text"


@dataclass(frozen=True)
class AnalyticsConfig:
    enabled: bool = True
    file: str = ""
    retention_days: int = 90
    queue_size: int = 10000


ANALYTICS_FILE = "searchsvc-analytics.sqlite"  # its default name, beside the index


@dataclass(frozen=True)
class Config:
    content: ContentConfig = field(default_factory=ContentConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    related: RelatedConfig = field(default_factory=RelatedConfig)
    cors: CorsConfig = field(default_factory=CorsConfig)
    follow: FollowConfig = field(default_factory=FollowConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    log: LogConfig = field(default_factory=LogConfig)
    analytics: AnalyticsConfig = field(default_factory=AnalyticsConfig)
    file: Path | None = None

    @property
    def analytics_file(self) -> Path:
        """The search analytics' SQLite file: `analytics.file`, else in the index dir."""
        return Path(self.analytics.file) if self.analytics.file else self.index.dir / ANALYTICS_FILE

    def replace(self, **overrides: Any) -> Config:
        """A copy with `section.key` overrides applied (as flags would)."""
        return _apply(self, {k: v for k, v in overrides.items() if v is not None}, Path.cwd())


def find_config_file(
    explicit: str | os.PathLike[str] | None, env: Mapping[str, str]
) -> Path | None:
    if explicit:
        return Path(explicit)
    if env.get(ENV_PREFIX + "CONFIG"):
        return Path(env[ENV_PREFIX + "CONFIG"])
    default = Path("config.toml")
    return default if default.is_file() else None


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Config:
    """Build the one Config: defaults, then the file, then the environment, then flags.

    `flags` maps `section.key` to a value; None values are ignored (flag not given).
    """
    env = os.environ if env is None else env
    config = Config()
    file = find_config_file(path, env)
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {file}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
        flat: dict[str, Any] = {}
        for section, values in data.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{file}: [{section}] must be a table, not a value")
            for key, value in values.items():
                flat[f"{section}.{key}"] = value
        config = _apply(config, flat, file.resolve().parent, origin=str(file))
        config = dataclasses.replace(config, file=file.resolve())
    from_env = {}
    for name, value in env.items():
        if name.startswith(ENV_PREFIX) and name != ENV_PREFIX + "CONFIG":
            section, _, key = name[len(ENV_PREFIX) :].lower().partition("_")
            if _section_type(section) is not None:
                from_env[f"{section}.{key}"] = value
    config = _apply(config, from_env, Path.cwd(), origin="environment", strings=True)
    if flags:
        config = _apply(config, {k: v for k, v in flags.items() if v is not None}, Path.cwd())
    if config.log.access not in ACCESS_LOG_FORMATS:
        choices = ", ".join(ACCESS_LOG_FORMATS)
        raise ConfigError(f"log.access: {config.log.access!r} is not one of {choices}")
    return config


def _section_type(section: str) -> type | None:
    for f in dataclasses.fields(Config):
        if f.name == section and f.name != "file":
            return typing.get_type_hints(Config)[f.name]
    return None


def _apply(
    config: Config,
    values: Mapping[str, Any],
    base: Path,
    origin: str = "flags",
    strings: bool = False,
) -> Config:
    sections: dict[str, dict[str, Any]] = {}
    for dotted, raw in values.items():
        section, _, key = dotted.partition(".")
        cls = _section_type(section)
        if cls is None:
            raise ConfigError(f"{origin}: unknown section [{section}]")
        hints = typing.get_type_hints(cls)
        if key not in hints:
            known = ", ".join(hints)
            raise ConfigError(f"{origin}: unknown setting {section}.{key} (known: {known})")
        try:
            value = _coerce(raw, hints[key], base, strings)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{origin}: {section}.{key}: {exc}") from None
        sections.setdefault(section, {})[key] = value
    for section, changes in sections.items():
        config = dataclasses.replace(
            config, **{section: dataclasses.replace(getattr(config, section), **changes)}
        )
    return config


def _list_from_env(raw: str) -> list[Any]:
    """A list from an environment variable: JSON (`["a", "b"]`) when it starts with `[`,
    else comma-separated (`a, b`); empty is the empty list."""
    if raw.strip().startswith("["):
        try:
            items = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list ({exc.msg}): {raw!r}") from None
        if not isinstance(items, list):
            raise ValueError(f"expected a JSON list of strings, got {raw!r}")
        return [i.strip() if isinstance(i, str) else i for i in items]
    return [s.strip() for s in raw.split(",") if s.strip()]


def _coerce(raw: Any, hint: Any, base: Path, strings: bool) -> Any:
    origin = typing.get_origin(hint)
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if strings and str(raw).lower() in ("1", "true", "yes", "on"):
            return True
        if strings and str(raw).lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    if hint is int:
        if isinstance(raw, bool):
            raise ValueError(f"expected an integer, got {raw!r}")
        if isinstance(raw, int) or (strings and isinstance(raw, str)):
            return int(raw)
        raise ValueError(f"expected an integer, got {raw!r}")
    if hint is float:
        if isinstance(raw, bool):
            raise ValueError(f"expected a number, got {raw!r}")
        if isinstance(raw, int | float) or (strings and isinstance(raw, str)):
            return float(raw)
        raise ValueError(f"expected a number, got {raw!r}")
    if hint is str:
        if isinstance(raw, str):
            return raw
        raise ValueError(f"expected a string, got {raw!r}")
    if hint is Path:
        if isinstance(raw, str | os.PathLike) and str(raw):
            path = Path(raw).expanduser()
            return path if path.is_absolute() else base / path
        raise ValueError(f"expected a path, got {raw!r}")
    if origin is tuple:
        if isinstance(raw, str) and strings:
            items = _list_from_env(raw)
        elif isinstance(raw, str):
            items = [raw]
        elif isinstance(raw, list | tuple):
            items = list(raw)
        else:
            raise ValueError(f"expected a list of strings, got {raw!r}")
        if not all(isinstance(i, str) for i in items):
            raise ValueError(f"expected a list of strings, got {raw!r}")
        return tuple(items)
    if hint == Path | None:  # an optional file: empty is none
        return None if raw in ("", None) else _coerce(raw, Path, base, strings)
    if isinstance(hint, types.UnionType):  # pragma: no cover - no such settings yet
        raise TypeError(f"unsupported setting type {hint}")
    raise TypeError(f"unsupported setting type {hint}")
