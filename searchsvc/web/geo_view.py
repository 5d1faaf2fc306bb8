"""When and where, drawn on the page: a timeline of the result (bars per period, from the
search's histogram) and a map of its places (dots from the locations facet), as
server-rendered SVG: no script, no tile server, nothing fetched from elsewhere. The world
outline is a static file (`static/world.svg`, Natural Earth, see static/README.md) in the
same equirectangular degrees as the dots: x = longitude + 180, y = 90 - latitude.

The templates (`_when_where.html`, `_timeline.html`, `_map.html`) call these helpers, as
Jinja globals; every bar and dot is a link (keyboard-reachable), and the same data is
also a plain list under each picture.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from flask import Flask, current_app

MAP_WIDTH, MAP_HEIGHT = 360, 150  # degrees: 180 W to 180 E, 90 N to 60 S
CHART_WIDTH, CHART_HEIGHT = 480, 60  # the timeline's view box, labels below
MIN_VIEW = 50  # degrees: the narrowest part of the world the map zooms to
MAX_PITCH = 40  # a few periods do not make bars a third of the page wide
MAX_BARS = 400  # periods drawn with their empty neighbours; beyond, only the held ones


def _next(interval: str, key: str) -> str:
    if interval == "year":
        return f"{int(key) + 1:04d}"
    if interval == "month":
        y, m = int(key[:4]), int(key[5:7])
        return f"{y + m // 12:04d}-{m % 12 + 1:02d}"
    return (dt.date.fromisoformat(key) + dt.timedelta(days=1)).isoformat()


def _periods(interval: str, first: str, last: str) -> list[str] | None:
    """Every period from first to last, or None when there are too many to draw."""
    out = [first]
    while out[-1] < last:
        if len(out) > MAX_BARS:
            return None
        out.append(_next(interval, out[-1]))
    return out


def timeline(histogram: dict[str, Any] | Any | None) -> dict[str, Any] | None:
    """Bars for a histogram (the answer's, as a dataclass or its JSON): each period from
    the first to the last with a match, empty ones included so time runs evenly."""
    if histogram is None:
        return None
    if not isinstance(histogram, dict):
        histogram = {"interval": histogram.interval, "buckets": histogram.buckets}
    buckets = histogram["buckets"]
    if not buckets:
        return None
    counts = {b["key"]: b["count"] for b in buckets}
    keys = _periods(histogram["interval"], buckets[0]["key"], buckets[-1]["key"]) or list(counts)
    top = max(counts.values())
    pitch = min(MAX_PITCH, CHART_WIDTH / len(keys))
    bars = []
    for i, key in enumerate(keys):
        n = counts.get(key, 0)
        h = max(round(CHART_HEIGHT * n / top, 2), 1.5) if n else 0
        bars.append(
            {"key": key, "count": n, "x": round(i * pitch, 2), "y": CHART_HEIGHT - h, "h": h}
        )
    return {
        "interval": histogram["interval"],
        "bars": bars,
        "pitch": round(pitch, 2),
        "bar": round(pitch * 0.8, 2),
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "end": round(len(keys) * pitch, 2),
        "first": keys[0],
        "last": keys[-1],
        "total": sum(counts.values()),
    }


def map_dots(places: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A dot per place with coordinates, its area by its count (largest first, so the
    small ones are drawn, and clickable, on top), and the view: the part of the world
    around the dots (at least MIN_VIEW degrees wide, the map's proportions kept)."""
    located = [p for p in places if "lat" in p and "lon" in p]
    if not located:
        return None
    xs = [p["lon"] + 180 for p in located]
    ys = [min(max(90 - p["lat"], 0), MAP_HEIGHT) for p in located]
    pad = 8
    w = max(max(xs) - min(xs) + 2 * pad, (max(ys) - min(ys) + 2 * pad) * MAP_WIDTH / MAP_HEIGHT)
    w = min(max(w, MIN_VIEW), MAP_WIDTH)
    h = w * MAP_HEIGHT / MAP_WIDTH
    x = min(max((max(xs) + min(xs)) / 2 - w / 2, 0), MAP_WIDTH - w)
    y = min(max((max(ys) + min(ys)) / 2 - h / 2, 0), MAP_HEIGHT - h)
    top = max(p.get("count", 1) for p in located)
    scale = w / MAP_WIDTH
    dots = [
        {
            **p,
            "cx": round(cx, 2),
            "cy": round(cy, 2),
            "r": round((2 + 5 * math.sqrt(p.get("count", 1) / top)) * scale, 2),
        }
        for p, cx, cy in zip(located, xs, ys, strict=True)
    ]
    return {
        "dots": sorted(dots, key=lambda d: -d["r"]),
        "view": f"{x:.2f} {y:.2f} {w:.2f} {h:.2f}",
        "stroke": round(0.5 * scale, 3),
    }


def event_timeline(doc: dict[str, Any], related: list[Any]) -> dict[str, Any] | None:
    """An event and its related events on one time axis: a mark per dated event (the
    event itself apart), placed by its day between the first and the last."""
    marks = [(dt.date.fromisoformat(r.date), r) for r in related if r.date]
    if not doc.get("date") or not marks:
        return None
    own = dt.date.fromisoformat(doc["date"])
    first = min([own, *(d for d, _ in marks)])
    last = max([own, *(d for d, _ in marks)])
    span = max((last - first).days, 1)

    def x(day: dt.date) -> float:
        return round(10 + (CHART_WIDTH - 20) * (day - first).days / span, 2)

    return {
        "width": CHART_WIDTH,
        "own": {"x": x(own), "date": doc["date"]},
        "marks": [{"x": x(d), "hit": r} for d, r in sorted(marks, key=lambda m: m[0])],
        "first": first.isoformat(),
        "last": last.isoformat(),
    }


def doc_places(locations: list[str]) -> list[dict[str, Any]]:
    """An event's locations with the kind and coordinates the index holds for them."""
    return current_app.extensions["searchsvc.index"].places(list(locations))


def register(app: Flask) -> None:
    """Make the helpers available to the templates."""
    app.jinja_env.globals.update(
        timeline=timeline,
        map_dots=map_dots,
        doc_places=doc_places,
        event_timeline=event_timeline,
        map_size=(MAP_WIDTH, MAP_HEIGHT),
    )
