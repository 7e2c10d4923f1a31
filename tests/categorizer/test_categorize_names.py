"""categorize() on what the names on a permit say: the lot's owner (a builder's, a company's, an
institution's) and the trade in the firm's name."""

from __future__ import annotations

import pytest

from schemas.taxonomy import Category
from services.categorizer.categorize import categorize
from services.categorizer.rule_book import Rules
from tests.categorizer.conftest import (
    AS_OF,
    cary_permit,
    confidence,
    dropped,
    fort_worth_trade_permit,
    kept,
    make_permit,
)

# ---------------------------------------------------------------- the lot's owner


@pytest.mark.parametrize(
    "owner",
    ["D R HORTON - TEXAS LTD", "DRH", "LGI HOMES - TEXAS LLC", "HT HWY 114 DEVELOPMENT LP"],
)
def test_a_trade_sub_permit_on_a_builders_lot_is_the_builders_new_home(
    rules: Rules, owner: str
) -> None:
    permit = fort_worth_trade_permit("Electrical", "Umbrella", owner)
    result = dropped(categorize(permit, rules, AS_OF))
    assert result.reason == "production_builder"
    assert result.categorization is not None
    assert result.categorization.category is Category.NEW_CONSTRUCTION
    assert "owner_name" in result.detail or "owns the lot" in result.detail


def test_a_named_builder_is_high_confidence_a_company_owned_lot_is_low(rules: Rules) -> None:
    named = fort_worth_trade_permit("Plumbing", "Umbrella", "Lennar")
    assert confidence(categorize(named, rules, AS_OF)) == "high"
    land_bank = fort_worth_trade_permit("Mechanical", "Umbrella", "KLLB AIV LLC")
    result = dropped(categorize(land_bank, rules, AS_OF))
    assert result.categorization is not None
    assert result.categorization.category is Category.NEW_CONSTRUCTION
    assert confidence(result) == "low"


@pytest.mark.parametrize(
    ("owner", "category"),
    [
        ("GUTIERREZ, MARCELA", Category.HVAC),  # a homeowner's own trade job
        ("ADVENTIST HEALTH SYSTEM INC", Category.COMMERCIAL_HVAC),  # a hospital's
    ],
)
def test_a_trade_sub_permit_on_a_persons_or_an_institutions_lot_keeps_its_trade(
    rules: Rules, owner: str, category: Category
) -> None:
    permit = fort_worth_trade_permit("Mechanical", "Umbrella", owner)
    assert kept(categorize(permit, rules, AS_OF)).categorization.category is category


def test_a_standalone_trade_permit_on_a_builders_lot_is_not_read_as_a_new_home(
    rules: Rules,
) -> None:
    permit = fort_worth_trade_permit("Plumbing", "Standalone", "Perry Homes")
    result = dropped(categorize(permit, rules, AS_OF))
    assert result.reason == "production_builder"  # the builder's lot, the builder's job
    assert result.categorization is not None
    assert result.categorization.category is Category.PLUMBING


def test_irrigation_on_a_builders_lot_without_description_is_the_builders(rules: Rules) -> None:
    permit = fort_worth_trade_permit(
        "Plumbing Backflow", "Standalone", "Darling Homes", permit_class="Irrigation and Backflow"
    )
    result = dropped(categorize(permit, rules, AS_OF))
    assert result.reason == "production_builder"
    assert result.categorization is not None
    assert result.categorization.category is Category.OTHER


def test_a_homeowners_described_project_on_a_lot_still_in_a_builders_name_is_kept(
    rules: Rules,
) -> None:
    permit = make_permit("New in-ground swimming pool", owner_name="WALSH RANCHES DEVELOPMENT LP")
    assert kept(categorize(permit, rules, AS_OF)).categorization.category is Category.POOL


@pytest.mark.parametrize(
    "owner",
    ["GATEWAY CHURCH", "FORT WORTH ISD", "BAYLOR ALL SAINTS MEDICAL CTR", "HASLET, CITY OF"],
)
def test_an_institution_owning_the_property_makes_a_bare_trade_permit_commercial(
    rules: Rules, owner: str
) -> None:
    permit = fort_worth_trade_permit("Plumbing", "Standalone", owner)
    result = kept(categorize(permit, rules, AS_OF))
    assert result.categorization.category is Category.COMMERCIAL_PLUMBING


def test_the_portals_residential_class_outranks_the_owners_name(rules: Rules) -> None:
    permit = fort_worth_trade_permit(
        "Plumbing", "Standalone", "FIRST BAPTIST CHURCH", permit_class="Residential"
    )
    assert kept(categorize(permit, rules, AS_OF)).categorization.category is Category.PLUMBING


# ---------------------------------------------------------------- the firm's trade name


@pytest.mark.parametrize(
    ("contractor", "category"),
    [
        ("GARUDA CUSTOM DECKS INC", Category.OUTDOOR_LIVING),
        ("EVOLUTIONARY DECKING INC", Category.OUTDOOR_LIVING),
        ("CARY TOWNE SIDING & PAINT", Category.SIDING),
        ("POWERLIFT FOUNDATION REPAIR", Category.FOUNDATION),
        ("Well Done Roofing Construction LLC", Category.ROOF),
        ("BEAVER'S CONSTRUCTION COMPANY", Category.REMODEL),  # a general contractor says nothing
        ("DYNAMIC PLUMBING INC", Category.REMODEL),  # a plumber's alteration: a bath remodel
        (None, Category.REMODEL),
    ],
)
def test_a_generic_alteration_takes_the_trade_of_the_firm_that_filed_it(
    rules: Rules, contractor: str | None, category: Category
) -> None:
    permit = cary_permit("BLDG - RESIDENTIAL ALT/ADD", contractor)
    assert kept(categorize(permit, rules, AS_OF)).categorization.category is category


def test_the_description_outranks_the_firms_name(rules: Rules) -> None:
    permit = make_permit("Replace water heater", contractor_name="Acme Decks & Patios LLC")
    result = dropped(categorize(permit, rules, AS_OF))
    assert result.reason == "junk:water_heater"


def test_a_sign_company_on_an_electrical_permit_is_a_sign(rules: Rules) -> None:
    permit = cary_permit("ELEC - NON-RESIDENTIAL ALTERATION", "CAROLINA SIGN & SERVICE")
    result = dropped(categorize(permit, rules, AS_OF))
    assert result.reason == "junk:signage"
    # "Signature" and "Design" are other words, not signs
    for contractor in ("TROPHY SIGNATURE REMODEL", "IMPERIAL DESIGN BUILDERS, INC"):
        kept(categorize(cary_permit("BLDG - RESIDENTIAL ALT/ADD", contractor), rules, AS_OF))


def test_a_backup_battery_is_solar_work(rules: Rules) -> None:
    permit = make_permit(
        "BACKUP BATTERY, MPU", permit_type="Residential Accessory Struct", work_type="New"
    )
    assert kept(categorize(permit, rules, AS_OF)).categorization.category is Category.SOLAR


def test_a_person_named_last_name_first_is_not_a_builder_shape(rules: Rules) -> None:
    permit = fort_worth_trade_permit(
        "Residential Building Permit", "New", "HOMES, TAYLOR", permit_number="PB26-1"
    )
    kept(categorize(permit, rules, AS_OF))
    company = fort_worth_trade_permit(
        "Residential Building Permit", "New", "Riverside Homes, LLC", permit_number="PB26-2"
    )
    assert dropped(categorize(company, rules, AS_OF)).reason == "production_builder"
