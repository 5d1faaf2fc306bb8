"""Request parameters, declared once.

A `Param` says what a parameter is (its name, type, limits, default and help). From the
declarations follow the validation of a request and its 400 messages (`read`), the
OpenAPI description of the parameters (`web/openapi.py`) and the command line's flags
(`cli.py`): a parameter is changed in one place. The endpoints' lists of parameters are in
`query.py`.

Every parameter comes as a list of strings, as in a query string. An empty value
(`page=`, `tag=`) means "not given", for every parameter.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from searchsvc.config import SearchConfig

MAX_FILTER_VALUES = 20  # values of a repeatable parameter
MAX_FILTER_CHARS = 200  # characters of a text parameter, unless it says otherwise
# Text a client sends: no control characters but tab, newline and carriage return.
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$"
DATE_HELP = "YYYY, YYYY-MM or YYYY-MM-DD, years 0001-9999, a real date"

# A limit or default, fixed or read from the settings (`[search]` in config.toml).
Setting = int | Callable[[SearchConfig], int]


class QueryError(ValueError):
    """A request that cannot be answered as asked; the message says what is wrong."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def _setting(value: Setting, config: SearchConfig) -> int:
    return value(config) if callable(value) else value


@dataclass(frozen=True)
class Param:
    """One request parameter.

    `help` may name `{default}`, `{lo}`, `{hi}` and `{max_chars}`: they are filled in from
    the settings in force."""

    name: str
    help: str
    type: Literal["text", "int", "choice", "date"] = "text"
    repeat: bool = False  # repeatable: every value must match (filters)
    default: Setting | str | None = None
    lo: Setting = 1  # int: the smallest value
    hi: Setting = 0  # int: the largest value
    max_chars: Setting = MAX_FILTER_CHARS  # text: the longest value
    choices: tuple[str, ...] = ()  # choice: the values accepted
    fold: bool = False  # choice: case does not matter (`kind=Event`)
    end: bool = False  # date: a year or month is taken to its last day (`to=`)
    strip: bool = True  # text: spaces around the value are dropped (not so for completions)

    @property
    def flag(self) -> str:
        """The command line's flag for it: `--per-page`."""
        return "--" + self.name.replace("_", "-")

    def describe(self, config: SearchConfig) -> str:
        return self.help.format(
            default=self.default_value(config),
            lo=_setting(self.lo, config),
            hi=_setting(self.hi, config),
            max_chars=_setting(self.max_chars, config),
        )

    def default_value(self, config: SearchConfig) -> Any:
        if self.default is None or isinstance(self.default, str):
            return self.default
        return _setting(self.default, config)

    def limits(self, config: SearchConfig) -> dict[str, int]:
        """The limits in force: {lo, hi} for a number, {max_chars} for text."""
        if self.type == "int":
            return {"lo": _setting(self.lo, config), "hi": _setting(self.hi, config)}
        if self.type == "text":
            return {"max_chars": _setting(self.max_chars, config)}
        return {}

    def read(self, params: Mapping[str, Sequence[str]], config: SearchConfig) -> Any:
        """The parameter's value from a request: a tuple for a repeatable one, else one
        value or its default. Raises QueryError, naming the parameter."""
        values = list(params.get(self.name) or [])
        if self.repeat:
            if len(values) > MAX_FILTER_VALUES:
                raise QueryError(
                    f"too many {self.name} values (limit {MAX_FILTER_VALUES})", self.name
                )
            # Checked as sent, then stripped: empty values mean "not given".
            texts = (self._text(v, config).strip() for v in values)
            return tuple(self._convert(v, config) for v in texts if v)
        if len(values) > 1:
            raise QueryError(f"{self.name} is given {len(values)} times; give it once", self.name)
        value = values[0] if values else None
        if self.type == "text":
            text = self._text(value or "", config)
            return text.strip() if self.strip else text
        value = (value or "").strip() or None
        if value is None:
            return self.default_value(config)
        return self._convert(value, config)

    def _text(self, value: str, config: SearchConfig) -> str:
        limit = _setting(self.max_chars, config)
        if len(value) > limit:
            raise QueryError(
                f"{self.name} is too long: {len(value)} characters (limit {limit})", self.name
            )
        if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
            raise QueryError(f"{self.name} contains control characters", self.name)
        return value

    def _convert(self, value: str, config: SearchConfig) -> Any:
        name = self.name
        if self.type == "choice":
            key = value.lower() if self.fold else value
            if key not in self.choices:
                raise QueryError(
                    f"{name}={value[:40]!r} is unknown: use one of {', '.join(self.choices)}",
                    name,
                )
            return key
        if self.type == "date":
            return parse_date_bound(value, self.end, name)
        if self.type == "int":
            return self._int(value, config)
        return value

    def _int(self, raw: str, config: SearchConfig) -> int:
        # ASCII digits only: str.isdigit() and \d also take "²" and "٣", which int() refuses
        # or reads as another number.
        if not re.fullmatch(r"[+]?[0-9]{1,9}", raw):
            raise QueryError(f"{self.name}={raw[:40]!r} is not a whole number", self.name)
        value = int(raw)
        lo, hi = _setting(self.lo, config), _setting(self.hi, config)
        if not lo <= value <= hi:
            raise QueryError(f"{self.name}={value} is out of range: use {lo} to {hi}", self.name)
        return value


def read(
    params: Mapping[str, Sequence[str]], declared: Sequence[Param], config: SearchConfig
) -> dict[str, Any]:
    """Every declared parameter's value from a request, by name."""
    return {p.name: p.read(params, config) for p in declared}


DATE_RE = re.compile(r"([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?")


def _date_pattern() -> str:
    """What parse_date_bound accepts (before stripping spaces), as one regular expression
    for the OpenAPI document: years 0001-9999, real months and real days, 29 February in
    leap years only. tests/test_openapi.py checks the two agree."""
    year = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
    leap = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)"
    month = "(0?[1-9]|1[0-2])"
    day = (
        "((0?[13578]|1[02])-(0?[1-9]|[12][0-9]|3[01])"
        "|(0?[469]|11)-(0?[1-9]|[12][0-9]|30)"
        "|0?2-(0?[1-9]|1[0-9]|2[0-8]))"
    )
    return f"^({year}(-{month})?|{year}-{day}|{leap}-0?2-29)$"


DATE_PATTERN = _date_pattern()


def parse_date_bound(value: str, end: bool, param: str) -> dt.date:
    """`2013`, `2013-01` or `2013-01-21` (ASCII digits; years 0001-9999); a year or month
    is taken whole (inclusive): its first day, or with `end` its last."""
    m = DATE_RE.fullmatch(value.strip())
    if not m:
        raise QueryError(
            f"{param}={value[:40]!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD", param
        )
    year, month, day = int(m[1]), int(m[2] or 0), int(m[3] or 0)
    if not (1 <= year <= 9999 and (m[2] is None or 1 <= month <= 12)):
        raise QueryError(
            f"{param}={value[:40]!r} is not a real date (years 0001-9999, months 1-12)", param
        )
    if m[2] is None:
        return dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
    last = calendar.monthrange(year, month)[1]
    if m[3] is None:
        return dt.date(year, month, last if end else 1)
    if not 1 <= day <= last:
        raise QueryError(f"{param}={value[:40]!r} is not a real date", param)
    return dt.date(year, month, day)
