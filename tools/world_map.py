"""Build searchsvc/web/static/world.svg, the outline the page's map draws its dots on.

Input: `countries-110m.json` of the npm package `world-atlas` (Natural Earth 1:110m
countries, public domain; the TopoJSON by Mike Bostock, ISC): fetch it with
`npm pack world-atlas@2 && tar xzf world-atlas-2.*.tgz` and run

    python3 tools/world_map.py package/countries-110m.json searchsvc/web/static/world.svg

The projection is the plain equirectangular one the page uses for its dots
(`web/geo_view.py`): x = longitude + 180, y = 90 - latitude, in degrees (down to 60
degrees south: no Antarctica), so a dot and the outline line up without a projection
library. Run once; the result is committed.
"""

from __future__ import annotations

import itertools
import json
import logging
import sys
from html import escape
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def decode_arcs(topo: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """The arcs as lists of (lon, lat): delta-decoded and un-quantized (TopoJSON spec)."""
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        out.append(points)
    return out


def ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def wrapped(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A ring as drawn: one that crosses the antimeridian (Russia, Fiji) twice, once
    shifted east and once west, each clipped by the view box, instead of a streak across
    the world."""
    if all(abs(a[0] - b[0]) <= 180 for a, b in itertools.pairwise(points)):
        return [points]
    east = [(lon + 360 if lon < 0 else lon, lat) for lon, lat in points]
    west = [(lon - 360 if lon > 0 else lon, lat) for lon, lat in points]
    return [east, west]


def path_of(points: list[tuple[float, float]]) -> str:
    xy = []
    for lon, lat in points:
        p = (round(lon + 180, 1), round(90 - lat, 1))
        if not xy or xy[-1] != p:
            xy.append(p)
    if len(xy) < 3:
        return ""
    return "M" + "L".join(f"{x:g} {y:g}" for x, y in xy) + "Z"


def world_svg(topo: dict[str, Any]) -> str:
    arcs = decode_arcs(topo)
    paths = []
    for geom in topo["objects"]["countries"]["geometries"]:
        polygons = geom.get("arcs") or []
        if geom["type"] == "Polygon":
            polygons = [polygons]
        d = "".join(
            path_of(pts) for poly in polygons for r in poly for pts in wrapped(ring(arcs, r))
        )
        if d:
            name = geom.get("properties", {}).get("name", "")
            paths.append(f'<path d="{d}"><title>{escape(name)}</title></path>')
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 360 150">\n'
        "<!-- Natural Earth 1:110m countries (public domain), from the npm package "
        "world-atlas 2 (TopoJSON, ISC, Mike Bostock); built by tools/world_map.py -->\n"
        '<g fill="#dde3ea" stroke="#9aa7b4" stroke-width="0.2">\n'
        + "\n".join(paths)
        + "\n</g>\n</svg>\n"
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    src, dest = Path(sys.argv[1]), Path(sys.argv[2])
    svg = world_svg(json.loads(src.read_text(encoding="utf-8")))
    dest.write_text(svg, encoding="utf-8")
    log.info("%s: %d bytes", dest, len(svg))


if __name__ == "__main__":
    main()
