"""Matching one lead against a subscription's filters, and the distance it uses."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from services.subscriptions.filters import LeadFacts, SubscriptionFilters, matches
from services.subscriptions.geo import bounding_box, miles_between

AUSTIN_CAPITOL = (30.2747, -97.7404)
ROUND_ROCK = (30.5083, -97.6789)  # about 16.5 miles north

LEAD = LeadFacts(
    trade_group="luxury_outdoor",
    category="pool",
    tier="A",
    county="Travis",
    city="Austin",
    zip_code="78701-2001",
    score=88,
    latitude=AUSTIN_CAPITOL[0],
    longitude=AUSTIN_CAPITOL[1],
)


def _filters(**values: object) -> SubscriptionFilters:
    return SubscriptionFilters.model_validate(values)


def test_haversine_distance_between_known_points() -> None:
    assert miles_between(*AUSTIN_CAPITOL, *ROUND_ROCK) == pytest.approx(16.5, abs=0.3)
    # Austin to Fort Worth is about 173 miles as the crow flies.
    assert miles_between(30.2672, -97.7431, 32.7555, -97.3308) == pytest.approx(173, abs=3)
    assert miles_between(*AUSTIN_CAPITOL, *AUSTIN_CAPITOL) == 0


def test_no_filters_match_every_scored_lead_but_never_a_retry() -> None:
    assert matches(_filters(), LEAD)
    assert not matches(_filters(), replace(LEAD, tier="RETRY", score=-1))


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"trade_groups": ["luxury_outdoor"]}, True),
        ({"trade_groups": ["home_systems"]}, False),
        ({"categories": ["pool", "fence"]}, True),
        ({"categories": ["roof"]}, False),
        ({"tiers": ["A"]}, True),
        ({"tiers": ["B", "C"]}, False),
        ({"counties": ["TRAVIS"]}, True),
        ({"counties": ["Williamson"]}, False),
        ({"cities": ["austin"]}, True),
        ({"cities": ["Round Rock"]}, False),
        ({"zip_codes": ["78701"]}, True),
        ({"zip_codes": ["78702"]}, False),
        ({"min_score": 88}, True),
        ({"min_score": 89}, False),
        ({"near": {"lat": ROUND_ROCK[0], "lon": ROUND_ROCK[1], "miles": 17}}, True),
        ({"near": {"lat": ROUND_ROCK[0], "lon": ROUND_ROCK[1], "miles": 16}}, False),
    ],
)
def test_each_filter_narrows(filters: dict[str, object], expected: bool) -> None:
    assert matches(_filters(**filters), LEAD) is expected


def test_a_lead_without_coordinates_never_matches_near_and_is_no_error() -> None:
    near = _filters(near={"lat": AUSTIN_CAPITOL[0], "lon": AUSTIN_CAPITOL[1], "miles": 250})
    assert not matches(near, replace(LEAD, latitude=None, longitude=None))


def test_a_lead_without_a_zip_never_matches_a_zip_filter() -> None:
    assert not matches(_filters(zip_codes=["78701"]), replace(LEAD, zip_code=None))


@pytest.mark.parametrize(
    "bad",
    [
        {"tiers": ["RETRY"]},
        {"zip_codes": ["7870"]},
        {"zip_codes": ["78701-1234"]},
        {"min_score": 101},
        {"near": {"lat": 91, "lon": 0, "miles": 1}},
        {"near": {"lat": 30, "lon": -97, "miles": 0}},
        {"near": {"lat": 30, "lon": -97, "miles": 251}},
        {"near": {"lat": 30, "lon": -97}},
        {"trade_groups": ["pools"]},
        {"colour": ["blue"]},
    ],
)
def test_malformed_filters_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SubscriptionFilters.model_validate(bad)


def test_stored_form_is_lower_case_deduplicated_and_omits_absent_keys() -> None:
    filters = _filters(counties=["Travis", "TRAVIS", " Williamson "], tiers=["A", "A"])
    assert filters.stored() == {"counties": ["travis", "williamson"], "tiers": ["A"]}


@pytest.mark.parametrize(
    ("centre", "miles"),
    [((30.27, -97.74), 25), ((64.8, -147.7), 200), ((-36.8, 179.9), 50), ((0.0, -180.0), 10)],
)
def test_the_bounding_box_holds_every_point_within_the_radius(
    centre: tuple[float, float], miles: float
) -> None:
    box = bounding_box(*centre, miles)
    for bearing in range(0, 360, 10):
        lat, lon = _destination(*centre, miles * 0.999, bearing)
        assert box.contains(lat, lon), (bearing, lat, lon, box)
    far_lat = centre[0] + miles / 69.0 * 1.2
    assert not box.contains(far_lat, centre[1]) or far_lat > 90


def _destination(lat: float, lon: float, miles: float, bearing_deg: float) -> tuple[float, float]:
    import math

    r = 3958.7613
    phi1, lam1, theta = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    delta = miles / r
    phi2 = math.asin(
        math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    )
    lam2 = lam1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1),
        math.cos(delta) - math.sin(phi1) * math.sin(phi2),
    )
    lon2 = (math.degrees(lam2) + 540) % 360 - 180
    return math.degrees(phi2), lon2
