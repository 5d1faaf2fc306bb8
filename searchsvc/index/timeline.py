"""Date histograms: how many documents of a result fall in each day, month or year.

Every document's day, month and year are numbered once per index generation (from the
day table, in arrays); a histogram is then one count over the result's documents
(`np.bincount`), exact, with no stored document opened.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

INTERVALS = ("day", "month", "year")
EPOCH = dt.date(1970, 1, 1).toordinal()  # numpy's day 0
# `auto` takes the finest interval with at most about this many periods over the span.
AUTO_DAYS = 62
AUTO_MONTHS = 72


@dataclass(frozen=True)
class Periods:
    """Each document's day, month and year as a small number per interval: 0 when
    undated, else the period's number from the index's first one plus 1; a histogram is
    then one `np.bincount` over the result, its bin 0 the undated documents."""

    codes: dict[str, np.ndarray]  # int32, by interval
    base: dict[str, int]  # the raw number (ordinal day; months, years from 1970) of code 1


def period_codes(days: np.ndarray) -> Periods:
    """The Periods of the documents of a day table (ordinal days, 0 when undated)."""
    dated = days > 0
    d64 = (days.astype(np.int64) - EPOCH).astype("datetime64[D]")
    raw = {
        "day": days.astype(np.int64),
        "month": d64.astype("datetime64[M]").astype(np.int64),
        "year": d64.astype("datetime64[Y]").astype(np.int64),
    }
    codes, base = {}, {}
    for interval, numbers in raw.items():
        first = int(numbers[dated].min()) if dated.any() else 0
        codes[interval] = np.where(dated, numbers - first + 1, 0).astype(np.int32)
        base[interval] = first
    return Periods(codes, base)


def period_key(interval: str, code: int) -> str:
    """A period as the `from` and `to` parameters write it: 2013, 2013-01, 2013-01-21."""
    if interval == "day":
        return dt.date.fromordinal(code).isoformat()
    if interval == "month":
        return f"{1970 + code // 12:04d}-{code % 12 + 1:02d}"
    return f"{1970 + code:04d}"


def histogram(
    periods: Periods, mask: np.ndarray, interval: str
) -> tuple[str, list[tuple[str, int]], int]:
    """The interval used, the (period, count) of every period holding documents of the
    mask (oldest first), and how many of them are undated."""
    counts = _counts(periods, mask, "month" if interval == "auto" else interval)
    held = np.flatnonzero(counts[1:]) + 1
    if interval == "auto":
        interval = "month"
        if len(held) and held[-1] - held[0] >= AUTO_MONTHS:
            interval = "year"
        elif len(held) and held[-1] - held[0] <= 3:  # perhaps under 62 days (31 Jan-1 Apr: 60)
            days = _counts(periods, mask, "day")
            dated = np.flatnonzero(days[1:])
            if dated[-1] - dated[0] < AUTO_DAYS:
                interval = "day"
        if interval != "month":
            counts = _counts(periods, mask, interval)
            held = np.flatnonzero(counts[1:]) + 1
    base = periods.base[interval] - 1
    undated = int(counts[0]) if len(counts) else 0
    return interval, [(period_key(interval, base + int(k)), int(counts[k])) for k in held], undated


def _counts(periods: Periods, mask: np.ndarray, interval: str) -> np.ndarray:
    return np.bincount(periods.codes[interval][mask], minlength=1)
