"""Distances on the Earth and the bounding box that prefilters a radius search."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_MILES = 3958.7613
MILES_PER_DEGREE_LATITUDE = math.pi * EARTH_RADIUS_MILES / 180


def miles_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in miles."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class BoundingBox:
    """Every point within ``miles`` of a centre lies inside: a cheap, index-friendly
    prefilter; the exact distance decides. Longitude bounds may wrap past ±180 (then
    ``min_lon > max_lon``)."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    @property
    def wraps(self) -> bool:
        return self.min_lon > self.max_lon

    def contains(self, lat: float, lon: float) -> bool:
        if not self.min_lat <= lat <= self.max_lat:
            return False
        if self.wraps:
            return lon >= self.min_lon or lon <= self.max_lon
        return self.min_lon <= lon <= self.max_lon


def bounding_box(lat: float, lon: float, miles: float) -> BoundingBox:
    d_lat = miles / MILES_PER_DEGREE_LATITUDE
    min_lat, max_lat = max(-90.0, lat - d_lat), min(90.0, lat + d_lat)
    # The widest longitude span is at the box's edge nearest a pole; near a pole, everything.
    widest = max(abs(min_lat), abs(max_lat))
    if widest >= 89.9:
        return BoundingBox(min_lat, max_lat, -180.0, 180.0)
    d_lon = miles / (MILES_PER_DEGREE_LATITUDE * math.cos(math.radians(widest)))
    if d_lon >= 180:
        return BoundingBox(min_lat, max_lat, -180.0, 180.0)
    min_lon, max_lon = lon - d_lon, lon + d_lon
    if min_lon < -180:
        min_lon += 360
    if max_lon > 180:
        max_lon -= 360
    return BoundingBox(min_lat, max_lat, min_lon, max_lon)
