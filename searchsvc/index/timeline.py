"""Date histograms: how many documents of a result fall in each day, month or year.

Every document's day, month and year are numbered once per index generation (from the
day table, in arrays); a histogram is then one count over the result's documents
(`np.bincount`), exact, with no stored document opened.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

INTERVALS = ("day", "month", "year")
EPOCH = dt.date(1970, 1, 1).toordinal()  # numpy's day 0
# `auto` takes the finest interval with at most about this many periods over the span.
AUTO_DAYS = 62
AUTO_MONTHS = 72


def period_codes(days: np.ndarray) -> dict[str, np.ndarray]:
    """Each document's day (its ordinal), month and year (counted from 1970), by
    interval; undated documents (day 0) get numbers too, never counted."""
    d64 = (days.astype(np.int64) - EPOCH).astype("datetime64[D]")
    return {
        "day": days.astype(np.int64),
        "month": d64.astype("datetime64[M]").astype(np.int64),
        "year": d64.astype("datetime64[Y]").astype(np.int64),
    }


def period_key(interval: str, code: int) -> str:
    """A period as the `from` and `to` parameters write it: 2013, 2013-01, 2013-01-21."""
    if interval == "day":
        return dt.date.fromordinal(code).isoformat()
    if interval == "month":
        return f"{1970 + code // 12:04d}-{code % 12 + 1:02d}"
    return f"{1970 + code:04d}"


def auto_interval(first: int, last: int) -> str:
    """The interval `auto` means for a result dated from day `first` to day `last`."""
    if last - first < AUTO_DAYS:
        return "day"
    a, b = dt.date.fromordinal(first), dt.date.fromordinal(last)
    if (b.year - a.year) * 12 + b.month - a.month < AUTO_MONTHS:
        return "month"
    return "year"


def histogram(
    days: np.ndarray, codes: dict[str, np.ndarray], docs: np.ndarray, interval: str
) -> tuple[str, list[tuple[str, int]], int]:
    """The interval used, the (period, count) of every period holding documents of
    `docs` (oldest first), and how many of them are undated."""
    their_days = days[docs]
    dated = their_days > 0
    undated = int(len(docs) - np.count_nonzero(dated))
    if undated == len(docs):
        return ("day" if interval == "auto" else interval), [], undated
    if interval == "auto":
        dated_days = their_days[dated]
        interval = auto_interval(int(dated_days.min()), int(dated_days.max()))
    values = codes[interval][docs][dated]
    lo = int(values.min())
    counts = np.bincount(values - lo)
    held = np.flatnonzero(counts)
    return interval, [(period_key(interval, lo + int(k)), int(counts[k])) for k in held], undated
