"""Where a lead is: the portal's point where it gives one, else its ZIP's centroid.

The centroids come from the ``zipcodes`` package, whose data (about 42,000 US ZIPs) ships in
its wheel: nothing is downloaded at run time. It loads on the first lookup (about 1.4 s and
55 MB), so only a process that meets a permit without coordinates pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from schemas import RawPermit
from services.subscriptions.filters import five_digit_zip


@dataclass(frozen=True)
class Location:
    """``approximate`` is True for a ZIP centroid, False for the portal's point, None when
    the lead has no location (then latitude and longitude are None too)."""

    zip_code: str | None
    latitude: float | None
    longitude: float | None
    approximate: bool | None


def lead_location(permit: RawPermit) -> Location:
    zip_code = five_digit_zip(permit.zip_code)
    lat, lon = permit.latitude, permit.longitude
    # (0, 0) is in the Gulf of Guinea: a portal's "not geocoded", never a US permit.
    if lat is not None and lon is not None and (lat, lon) != (0.0, 0.0):
        return Location(zip_code, lat, lon, approximate=False)
    centroid = zip_centroid(zip_code) if zip_code else None
    if centroid is not None:
        return Location(zip_code, centroid[0], centroid[1], approximate=True)
    return Location(zip_code, None, None, approximate=None)


@lru_cache(maxsize=4096)
def zip_centroid(zip_code: str) -> tuple[float, float] | None:
    """(latitude, longitude) of a 5-digit US ZIP's centroid; None for an unknown ZIP or one
    the data set has no point for."""
    import zipcodes  # deferred: loading the data set is the expensive part

    try:
        found = zipcodes.matching(zip_code)  # type: ignore[no-untyped-call]
    except (TypeError, ValueError):
        return None
    for entry in found:
        try:
            lat, lon = float(entry["lat"]), float(entry["long"])
        except (KeyError, TypeError, ValueError):
            continue
        if (lat, lon) != (0.0, 0.0):
            return lat, lon
    return None
