"""Where documents are: each location's kind and coordinates, by document, in arrays.

The coordinates were resolved when the documents were indexed (the `places` field,
`schema.place_terms`), so a geographic filter reads them from the index: no gazetteer and
no name resolved per request. A filter decides which places lie inside (a few thousand,
in one vectorised pass), then which documents hold one of those (one pass over the
document-place pairs). Exact: a document is in when one of its places is, by the same
numbers the index holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from searchsvc.index.schema import parse_place_term

EARTH_KM = 6371.0088  # the mean Earth radius (IUGG); distances are great-circle


def haversine_km(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Great-circle distances, in km, from (lat0, lon0) to each point (degrees)."""
    p1, p2 = np.radians(lat0), np.radians(lat)
    dlat, dlon = p2 - p1, np.radians(lon) - np.radians(lon0)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass
class PlaceTable:
    """The places of one index generation: each place's key (the locations label's),
    kind and coordinates (NaN where unknown), and which documents hold which place."""

    keys: list[str]
    kinds: list[str]
    lat: np.ndarray  # float64 degrees
    lon: np.ndarray
    owners: np.ndarray  # the document of each document-place pair
    values: np.ndarray  # the place of each pair
    size: int  # documents

    @classmethod
    def from_labels(cls, labels: Any, size: int) -> PlaceTable:
        """From the `places` field read as a label table (segments.Labels)."""
        parsed = [parse_place_term(k) for k in labels.keys]
        nan = float("nan")
        owners = np.repeat(np.arange(size, dtype=np.int32), np.diff(labels.starts))
        return cls(
            keys=[p[0] for p in parsed],
            kinds=[p[1] for p in parsed],
            lat=np.array([nan if p[2] is None else p[2] for p in parsed], dtype=np.float64),
            lon=np.array([nan if p[3] is None else p[3] for p in parsed], dtype=np.float64),
            owners=owners,
            values=labels.values,
            size=size,
        )

    def __post_init__(self) -> None:
        # The first term of a key wins (an index run with another gazetteer could differ).
        self._by_key: dict[str, int] = {}
        for i, key in enumerate(self.keys):
            self._by_key.setdefault(key, i)

    def point(self, key: str) -> tuple[str, float | None, float | None] | None:
        """A location key's kind and coordinates; None when the index has no such place."""
        i = self._by_key.get(key)
        if i is None:
            return None
        lat, lon = float(self.lat[i]), float(self.lon[i])
        if np.isnan(lat) or np.isnan(lon):
            return self.kinds[i], None, None
        return self.kinds[i], lat, lon

    def holding(self, inside: np.ndarray) -> np.ndarray:
        """The documents (a mask) holding at least one of the places marked inside."""
        mask = np.zeros(self.size, dtype=bool)
        if len(self.values):
            mask[self.owners[inside[self.values]]] = True
        return mask

    def near(self, lat: float, lon: float, km: float) -> np.ndarray:
        """The documents with a place at most km away (great-circle, inclusive)."""
        with np.errstate(invalid="ignore"):
            inside = haversine_km(self.lat, self.lon, lat, lon) <= km  # NaN: False
        return self.holding(inside)

    def within(self, west: float, south: float, east: float, north: float) -> np.ndarray:
        """The documents with a place in the box (inclusive; west > east crosses the
        antimeridian)."""
        with np.errstate(invalid="ignore"):
            lat_in = (self.lat >= south) & (self.lat <= north)
            if west <= east:
                lon_in = (self.lon >= west) & (self.lon <= east)
            else:
                lon_in = (self.lon >= west) | (self.lon <= east)
        return self.holding(lat_in & lon_in)
