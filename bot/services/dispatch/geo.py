"""Pure-Python geometry for routing: point in GeoJSON polygon, distance on the sphere."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

EARTH_RADIUS_M = 6_371_008.8
Ring = Sequence[Sequence[float]]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _in_ring(x: float, y: float, ring: Ring) -> bool:
    # Even-odd ray casting; GeoJSON positions are [longitude, latitude].
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i][0], ring[i][1]
        x2, y2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def _in_polygon(x: float, y: float, rings: Sequence[Ring]) -> bool:
    if not rings or not _in_ring(x, y, rings[0]):
        return False
    return not any(_in_ring(x, y, hole) for hole in rings[1:])


def contains(geometry: dict[str, Any] | None, *, lat: float, lon: float) -> bool:
    """True when a GeoJSON Polygon or MultiPolygon (or a Feature of one) contains the point."""
    if not geometry:
        return False
    if geometry.get("type") == "Feature":
        return contains(geometry.get("geometry"), lat=lat, lon=lon)
    kind, coordinates = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        return _in_polygon(lon, lat, coordinates)
    if kind == "MultiPolygon":
        return any(_in_polygon(lon, lat, polygon) for polygon in coordinates)
    return False
