"""What enrichment adds to a permit, absentee owners, and the discards property data decides."""

from __future__ import annotations

from typing import Any

from schemas.discards import DiscardedPermit
from schemas.permits import EnrichedPermit
from schemas.taxonomy import Category, MatchKind
from services.enricher.absentee import AbsenteeBasis, Place, absentee
from services.enricher.enrich import enrich
from services.enricher.matching import PropertyFacts
from tests.enricher.factories import SCRAPED_AT, account, categorized, permit

LENNAR = "LENNAR HOMES OF TEXAS LAND & CONSTRUCTION LTD"


def builder_named_lennar(owner_name: str, category: Category) -> str | None:
    return "lennar" if "LENNAR" in owner_name.upper() else None


def run(facts: PropertyFacts | None, **permit_values: Any) -> EnrichedPermit | DiscardedPermit:
    permit_values.setdefault("property_address", "704 E Weatherford St")
    return enrich(
        categorized(permit(**permit_values)),
        MatchKind.ADDRESS_UNIT if facts else MatchKind.NONE,
        facts,
        owner_is_builder=builder_named_lennar,
        rules_version="rules-1",
        discarded_at=SCRAPED_AT,
    )


def enriched(facts: PropertyFacts | None, **permit_values: Any) -> EnrichedPermit:
    result = run(facts, **permit_values)
    assert isinstance(result, EnrichedPermit), result
    return result


def test_cad_facts_are_added_and_the_cad_owner_wins_over_the_portal() -> None:
    facts = account(
        "1309",
        "704 E WEATHERFORD ST",
        owner_name="DAILEY, TODD",
        owner_mailing_address="704 E WEATHERFORD ST",
        market_value=556_381,
        homestead=True,
        year_built=1910,
        living_area=2550,
        land_use="residential",
    )
    cad = enriched(facts, owner_name="Todd Dailey (per portal)", applicant_name="ACME ROOFING").cad
    assert cad.match is MatchKind.ADDRESS_UNIT
    assert (cad.county, cad.account_id, cad.owner_name) == ("tarrant", "1309", "DAILEY, TODD")
    assert (cad.market_value, cad.homestead, cad.year_built, cad.square_feet) == (
        556_381.0,
        True,
        1910,
        2550,
    )
    assert cad.land_use == "residential"
    assert (cad.is_absentee, cad.absentee_basis) == (False, "address")
    assert cad.owner_mailing_address == "704 E WEATHERFORD ST"


def test_owner_mailing_elsewhere_is_absentee() -> None:
    facts = account(
        "11924",
        "3866 DONALEE ST",
        owner_mailing_address="1913 Ash Crescent St",
        owner_mailing_city="Fort Worth",
        owner_mailing_state="TX",
        owner_mailing_zip="76104",
    )
    cad = enriched(facts, property_address="3866 Donalee St").cad
    assert (cad.is_absentee, cad.absentee_basis) == (True, "address")
    assert cad.owner_mailing_address == "1913 Ash Crescent St, FORT WORTH, TX 76104"


def test_unmatched_permit_goes_on_with_the_portal_owner_and_match_none() -> None:
    result = enriched(
        None,
        owner_name="ROLLER, KENNETH H",
        applicant_name="ACME PLUMBING",
        city="Austin",
        zip_code="78704",
        owner_mailing_city="Dallas",
        owner_mailing_zip="75201",
    )
    assert result.cad.match is MatchKind.NONE
    assert result.cad.owner_name == "ROLLER, KENNETH H"
    assert result.cad.market_value is None
    assert (result.cad.is_absentee, result.cad.absentee_basis) == (True, "city_zip")


def test_applicant_is_not_taken_for_the_owner() -> None:
    result = run(None, applicant_name="SUNRUN INSTALLATION SERVICES INC", valuation=20_000)
    assert isinstance(result, DiscardedPermit)
    assert result.reason == "no_data"


def test_no_owner_and_no_value_is_discarded_as_no_data() -> None:
    result = run(None)
    assert isinstance(result, DiscardedPermit)
    assert (result.reason, result.stage, result.rules_version) == ("no_data", "enricher", "rules-1")
    assert result.cad is not None and result.cad.match is MatchKind.NONE
    assert result.discarded_at == SCRAPED_AT


def test_an_owner_or_a_value_is_enough_data() -> None:
    assert enriched(None, owner_name="Laura Jenswold").cad.owner_name == "Laura Jenswold"
    no_owner = account("1", "704 E WEATHERFORD ST", owner_name=None, market_value=200_000)
    assert enriched(no_owner).cad.market_value == 200_000.0


def test_production_builder_as_cad_owner_is_discarded_with_the_account() -> None:
    facts = account("42", "10756 GUN BARREL ST", owner_name=LENNAR, market_value=65_000)
    result = run(facts, property_address="10756 Gun Barrel St", owner_name="Jane Buyer")
    assert isinstance(result, DiscardedPermit)
    assert result.reason == "production_builder"
    assert LENNAR in result.detail and "account 42" in result.detail
    assert result.categorization is not None
    assert result.cad is not None and result.cad.account_id == "42"


def test_production_builder_named_only_by_the_portal_is_left_to_the_categorizer() -> None:
    facts = account("42", "704 E WEATHERFORD ST", owner_name="DAILEY, TODD")
    assert enriched(facts, owner_name=LENNAR).cad.owner_name == "DAILEY, TODD"


def test_absentee_by_city_and_zip_when_street_lines_are_unknown() -> None:
    assert absentee(Place(zip="76104"), Place(zip="76104-2211")) == (False, AbsenteeBasis.CITY_ZIP)
    assert absentee(Place(city="DALLAS"), Place(city="Fort Worth")) == (
        True,
        AbsenteeBasis.CITY_ZIP,
    )
    assert absentee(Place(), Place(line="704 E Weatherford St")) == (None, None)


def test_po_box_mailing_falls_back_to_city_zip() -> None:
    owner = Place(line="PO BOX 4090", zip="76104")
    assert absentee(owner, Place(line="704 E Weatherford St", zip="76104")) == (
        False,
        AbsenteeBasis.CITY_ZIP,
    )
    assert absentee(Place(line="PO BOX 4090"), Place(line="704 E Weatherford St")) == (None, None)


def test_same_street_line_in_another_zip_is_absentee() -> None:
    owner = Place(line="100 Main St", zip="75201")
    assert absentee(owner, Place(line="100 MAIN ST", zip="76102")) == (True, AbsenteeBasis.ADDRESS)
