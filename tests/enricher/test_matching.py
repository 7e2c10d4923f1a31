"""The match cascade: parcel → address with unit → address without unit (single-unit only)."""

from __future__ import annotations

from schemas.taxonomy import MatchKind
from services.enricher.matching import Candidates, MatchRequest, PropertyFacts, find_property
from tests.enricher.factories import account, permit

HOUSE = account("1309", "704 E WEATHERFORD ST", parcel_id="14437-29-32", situs_city="FORT WORTH")
CONDO_A = account("5104076", "4312 BELLAIRE DR S # 107E", units_at_situs=2)
CONDO_B = account("5104077", "4312 BELLAIRE DR S # 108E", units_at_situs=2)
DUPLEX = account("15504", "2524 DELL ST")


def match(accounts: list[PropertyFacts], **permit_values: str) -> tuple[MatchKind, str | None]:
    kind, found = find_property(
        MatchRequest.for_permit(permit(**permit_values)), Candidates.index(accounts)
    )
    return kind, found.account_id if found else None


def test_parcel_id_wins_over_the_address() -> None:
    elsewhere = account("99", "1 MAIN ST")
    found = match([HOUSE, elsewhere], parcel_id="14437 29 32", property_address="1 Main St")
    assert found == (MatchKind.PARCEL, "1309")


def test_account_number_counts_as_parcel_id_whatever_its_leading_zeros() -> None:
    assert match([HOUSE], parcel_id="00001309") == (MatchKind.PARCEL, "1309")


def test_address_without_units_on_either_side_matches_exactly() -> None:
    found = match([HOUSE], property_address="704 East Weatherford Street")
    assert found == (MatchKind.ADDRESS_UNIT, "1309")


def test_unit_picks_the_one_condo_in_a_building() -> None:
    found = match([CONDO_A, CONDO_B], property_address="4312 Bellaire Dr S Unit 108E")
    assert found == (MatchKind.ADDRESS_UNIT, "5104077")


def test_building_address_without_unit_never_matches_a_condo() -> None:
    assert match([CONDO_A, CONDO_B], property_address="4312 Bellaire Dr S") == (
        MatchKind.NONE,
        None,
    )
    # even when only one unit of the building is loaded (the 1% sample has such cases)
    lone_condo = account("5104076", "4312 BELLAIRE DR S # 107E", units_at_situs=1)
    assert match([lone_condo], property_address="4312 Bellaire Dr S") == (MatchKind.NONE, None)


def test_unit_on_the_permit_is_ignored_for_a_single_unit_parcel() -> None:
    found = match([DUPLEX], property_address="2524 Dell St Apt B")
    assert found == (MatchKind.ADDRESS, "15504")


def test_unit_is_not_ignored_where_several_accounts_share_the_street_line() -> None:
    shared = [
        account("1", "2524 DELL ST", units_at_situs=2),
        account("2", "2524 DELL ST # B", units_at_situs=2),
    ]
    assert match(shared, property_address="2524 Dell St Apt C") == (MatchKind.NONE, None)


def test_different_house_number_or_street_never_matches() -> None:
    assert match([HOUSE], property_address="706 E Weatherford St") == (MatchKind.NONE, None)
    assert match([HOUSE], property_address="704 W Weatherford St") == (MatchKind.NONE, None)
    assert match([HOUSE], property_address="704 E Belknap St") == (MatchKind.NONE, None)


def test_street_name_alone_never_matches() -> None:
    land = account("77", "WAT RD")
    assert match([land], property_address="Wat Rd") == (MatchKind.NONE, None)
    assert match([HOUSE], property_address="E Weatherford St") == (MatchKind.NONE, None)


def test_same_address_in_two_cities_needs_the_city_to_decide() -> None:
    fort_worth = account("1", "100 MAIN ST", situs_city="FORT WORTH")
    arlington = account("2", "100 MAIN ST", situs_city="ARLINGTON")
    both = [fort_worth, arlington]
    assert match(both, property_address="100 Main St") == (MatchKind.NONE, None)
    assert match(both, property_address="100 Main St", city="Ft. Worth") == (
        MatchKind.ADDRESS_UNIT,
        "1",
    )


def test_county_and_zip_rule_out_accounts_elsewhere() -> None:
    dallas = account("1309", "704 E WEATHERFORD ST", county="dallas", situs_zip="75201")
    assert match([dallas], property_address="704 E Weatherford St", county="Tarrant County") == (
        MatchKind.NONE,
        None,
    )
    assert match([dallas], property_address="704 E Weatherford St", zip_code="76102") == (
        MatchKind.NONE,
        None,
    )
    assert match([dallas], property_address="704 E Weatherford St", zip_code="75201-1234") == (
        MatchKind.ADDRESS_UNIT,
        "1309",
    )


def test_parcel_id_shared_by_several_accounts_falls_through_to_the_address() -> None:
    # TAD gives every condo of a complex the same GIS parcel id
    unit_1 = account("4864506", "3109 SONDRA DR # 105", parcel_id="44205C-09")
    unit_2 = account("5133491", "3129 SONDRA DR # 108", parcel_id="44205C-09")
    found = match([unit_1, unit_2], parcel_id="44205C-09", property_address="3129 Sondra Dr #108")
    assert found == (MatchKind.ADDRESS_UNIT, "5133491")
