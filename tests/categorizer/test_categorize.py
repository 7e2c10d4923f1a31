"""categorize() on real permit descriptions (quoted from ../shared/data) and portal fields."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from schemas.discards import DiscardedPermit
from schemas.permits import CategorizedPermit, RawPermit
from schemas.taxonomy import Category, TradeGroup
from services.categorizer.categorize import (
    FLAG_ISSUED_DATE_UNKNOWN,
    categorize,
)
from services.categorizer.rule_book import Rules
from tests.categorizer.conftest import AS_OF, make_permit


def kept(result: CategorizedPermit | DiscardedPermit) -> CategorizedPermit:
    assert isinstance(result, CategorizedPermit), getattr(result, "detail", result)
    return result


def dropped(result: CategorizedPermit | DiscardedPermit) -> DiscardedPermit:
    assert isinstance(result, DiscardedPermit), f"kept as {result.categorization.category}"
    return result


# ----------------------------------- words, never substrings (docs/categorizer.md, "Categorising")


@pytest.mark.parametrize(
    ("description", "category"),
    [
        # "spa" inside "space"
        ("INTERIOR REMODEL OF OFFICE LEASE SPACE", Category.TENANT_IMPROVEMENT),
        ("frame kitchen & living for open space", Category.OTHER),
        # "pier" inside "Pierce"
        ("Replace siding at 5907 Shanghai Pierce Rd", Category.SIDING),
        # "meter" inside "perimeter"
        ("campus perimeter fencing and security infrastructure", Category.FENCE),
        # "panel" inside "solar panels"
        ("Install Solar Panels on existing rooftop", Category.SOLAR),
        ("Adding solar panels to residence only. Existing solar meter", Category.SOLAR),
        # "wire" inside "wireless"
        ("T-Mobile Wireless antenna upgrade", Category.OTHER),
        # "demo" inside "democracy"
        ("Replace sidewalk on Democracy Dr", Category.CONCRETE),
    ],
)
def test_words_inside_other_words_are_not_evidence(
    rules: Rules, description: str, category: Category
) -> None:
    result = categorize(make_permit(description), rules, AS_OF)
    assert result.categorization is not None
    assert result.categorization.category is category


def test_solar_panels_are_not_junk_panel_work(rules: Rules) -> None:
    result = kept(categorize(make_permit("Install Solar Panels on existing rooftop"), rules, AS_OF))
    assert result.categorization.trade_group is TradeGroup.HOME_SYSTEMS


# ---------------------------------------------------------------- primary category, tags, evidence


def test_pool_spa_and_outdoor_kitchen_is_a_pool_lead_tagged_outdoor_living(rules: Rules) -> None:
    result = kept(categorize(make_permit("New pool, spa and outdoor kitchen"), rules, AS_OF))
    assert result.categorization.category is Category.POOL
    assert result.categorization.tags == [Category.OUTDOOR_LIVING]
    assert "description:pool" in result.categorization.evidence


def test_whole_project_keeps_its_category_on_a_trade_sub_permit(rules: Rules) -> None:
    permit = make_permit(
        "Install New Electrical Service to a New Residence in the EUD.",
        permit_number="2015-053898 EP",
        permit_type="Electrical Permit (EP)",
        permit_class="Residential",
        work_type="New",
    )
    result = kept(categorize(permit, rules, AS_OF))
    assert result.categorization.category is Category.NEW_CONSTRUCTION
    assert result.categorization.tags == [Category.ELECTRICAL]


def test_new_home_boilerplate_features_are_not_tags(rules: Rules) -> None:
    description = "New 2-story single-family residence, attached garage, covered porch and patio."
    result = kept(
        categorize(
            make_permit(description, permit_class="R- 101 Single Family Houses"), rules, AS_OF
        )
    )
    assert result.categorization.category is Category.NEW_CONSTRUCTION
    assert result.categorization.tags == []


def test_portal_fields_decide_when_there_is_no_description(rules: Rules) -> None:
    permit = make_permit(None, permit_type="Mechanical", permit_class="General")
    result = kept(categorize(permit, rules, AS_OF))
    assert result.categorization.category is Category.HVAC
    assert result.categorization.evidence == [
        "permit_type:mechanical",
        "confidence:low (only weak evidence: permit_type:mechanical)",
    ]
    assert "no_description" in result.categorization.flags


@pytest.mark.parametrize(
    ("description", "fields", "confidence"),
    [
        ("Construct new in-ground pool", {}, "high"),
        # a bare trade permit type and nothing else
        (None, {"permit_type": "Electrical"}, "low"),
        # only a vague work word
        ("Remodel", {}, "low"),
        # nothing recognisable
        ("Austin Water violation", {}, "low"),
        # two projects named just as strongly
        ("reroof and replace siding", {}, "low"),
    ],
)
def test_every_decision_says_how_sure_it_is(
    rules: Rules, description: str | None, fields: dict[str, str], confidence: str
) -> None:
    categorization = categorize(make_permit(description, **fields), rules, AS_OF).categorization
    assert categorization is not None
    entries = [e for e in categorization.evidence if e.startswith("confidence:")]
    assert len(entries) == 1
    assert entries[0].split()[0] == f"confidence:{confidence}"


def test_nothing_recognisable_is_other_and_says_so(rules: Rules) -> None:
    result = kept(categorize(make_permit("Austin Water violation"), rules, AS_OF))
    assert result.categorization.category is Category.OTHER
    assert result.categorization.trade_group is TradeGroup.OTHER
    assert "no_category_evidence" in result.categorization.flags


def test_every_result_records_the_rules_version(rules: Rules) -> None:
    result = categorize(make_permit("Replace siding"), rules, AS_OF)
    assert result.categorization is not None
    assert result.categorization.rules_version == rules.version


# ---------------------------------------------------------------- commercial


@pytest.mark.parametrize(
    ("description", "permit_class", "category"),
    [
        (
            "Non-Structural re-roof to existing Commercial Building",
            "C-1000 Commercial Remodel",
            Category.COMMERCIAL_ROOF,
        ),
        (
            "Install interior retro-fit lighting to existing commercial only.",
            "Commercial",
            Category.COMMERCIAL_ELECTRICAL,
        ),
        (
            "Interior Remodel to Existing Restaurant",
            "C-1000 Commercial Remodel",
            Category.TENANT_IMPROVEMENT,
        ),
        ("Replace water yard line to comm bldg only.", None, Category.COMMERCIAL_PLUMBING),
    ],
)
def test_commercial_trades_become_their_commercial_variant(
    rules: Rules, description: str, permit_class: str | None, category: Category
) -> None:
    permit = make_permit(description, permit_class=permit_class)
    result = kept(categorize(permit, rules, AS_OF))
    assert result.categorization.is_commercial
    assert result.categorization.category is category
    assert result.categorization.trade_group is TradeGroup.COMMERCIAL


def test_a_homeowner_llc_does_not_make_a_permit_commercial(rules: Rules) -> None:
    permit = make_permit(
        "new two story single family house", owner_name="PAMS LAKE AUSTIN VENTURE LLC"
    )
    result = kept(categorize(permit, rules, AS_OF))
    assert not result.categorization.is_commercial


def test_the_portal_residential_class_beats_commercial_words(rules: Rules) -> None:
    permit = make_permit(
        "Partial demolition. renovation to existing master bedroom and addition of office/den",
        permit_class="R- 434 Addition & Alterations",
    )
    result = kept(categorize(permit, rules, AS_OF))
    assert not result.categorization.is_commercial
    assert result.categorization.category is Category.ADDITION


# ---------------------------------------------------------------- discards


@pytest.mark.parametrize(
    ("description", "fields", "reason"),
    [
        (
            "Replacement of complete existing central heat and air system, without duct work",
            {"work_type": "Change Out"},
            "junk:like_for_like",
        ),
        (
            "Water heater replacement to existing residence only. Like for like.",
            {},
            "junk:water_heater",
        ),
        ("replacement of main and sub panel to existing townhome only", {}, "junk:panel"),
        (
            "Repair/ Replace Sewer Yard Line to Existing Commercial Property.",
            {},
            "junk:sewer_repair",
        ),
        ("Total demo of home. Circa 1957", {}, "junk:demolition"),
        ("Home Builders Loop. Refer # 2015-042164 BP.", {}, "junk:temporary"),
        ("Temporary Meter Loop", {}, "junk:temporary"),
        (
            "New internally illuminated channel letter wall sign",
            {"permit_class": "Sign Permit"},
            "junk:signage",
        ),
        (
            "Tenant Finish-Out for Personal Services",
            {"permit_class": "C-1001 Commercial Finish Out"},
            "junk:tenant_finish_out",
        ),
        ("New construction of a detached carport.", {}, "junk:carport"),
        ("CONCRETE PAD AND SHED INSTALLATION", {}, "junk:shed"),
        (
            "Fire damage. Replace roof, siding, sheetrock, windows, and doors throughout.",
            {},
            "junk:damage_repair",
        ),
    ],
)
def test_junk_projects_are_discarded_with_their_kind(
    rules: Rules, description: str, fields: dict[str, str], reason: str
) -> None:
    result = dropped(categorize(make_permit(description, **fields), rules, AS_OF))
    assert result.reason == reason
    assert result.stage == "categorizer"
    assert result.categorization is not None
    assert result.detail


@pytest.mark.parametrize(
    "description",
    [
        "Repair existing foundation.",  # foundation and slab repair are $15-40k jobs
        "Install new mini split hvac system only.",  # new equipment, not a change-out
        "Interior remodel, to include drywall repairs, replace water heater, new can lights.",
        "Change out main electrical breaker from 100 amp to 125 amp and add 240 volt circuit "
        "for EV charging station.",
        "**partial demo**addition of a dining room, bedroom, bathroom and closet",
        "Replace water yard line to existing residence only",
    ],
)
def test_real_work_that_merely_mentions_junk_words_is_kept(rules: Rules, description: str) -> None:
    kept(categorize(make_permit(description), rules, AS_OF))


def test_production_builders_are_discarded_custom_builders_are_not(rules: Rules) -> None:
    description = "New 2-story single-family residence, attached garage, covered entry porch."
    for contractor in ("KB Home", "D R Horton Homes", "Pacesetter Homes, llc", "PSW Homes, LLC"):
        result = dropped(
            categorize(make_permit(description, contractor_name=contractor), rules, AS_OF)
        )
        assert result.reason == "production_builder", contractor
    for contractor in (
        "Precise Custom Homes Inc",
        "Butterfield Custom Homes, LLC",
        "MX3 Investments",
    ):
        kept(categorize(make_permit(description, contractor_name=contractor), rules, AS_OF))


def test_the_volume_builder_flag_counts_and_its_negation_does_not(rules: Rules) -> None:
    flagged = make_permit(
        "New 1-story single-family residence, attached garage. **VOL BUILD PROJECT**"
    )
    assert dropped(categorize(flagged, rules, AS_OF)).reason == "production_builder"
    negated = make_permit("**NOT VOLUME BUILDER**New 2-story single-family residence")
    kept(categorize(negated, rules, AS_OF))


def test_a_builder_name_outside_new_construction_is_not_a_production_builder(rules: Rules) -> None:
    permit = make_permit("Repair existing foundation.", contractor_name="Centex House Leveling")
    assert kept(categorize(permit, rules, AS_OF)).categorization.category is Category.FOUNDATION


def test_no_address_and_no_parcel_is_invalid(rules: Rules) -> None:
    permit = make_permit("Pool", property_address=None)
    assert dropped(categorize(permit, rules, AS_OF)).reason == "invalid"
    with_parcel = make_permit("Pool", property_address=None, parcel_id="10412024600")
    kept(categorize(with_parcel, rules, AS_OF))


def test_discard_precedence_is_invalid_builder_junk_stale(rules: Rules) -> None:
    # A new KB Home house, a temporary loop, issued a year ago: each rule removed in turn.
    old = date(2014, 12, 1)
    everything = make_permit(
        "Temporary Loop for new Construction. **VOL BUILD PROJECT**",
        contractor_name="KB Home",
        issued_date=old,
        property_address=None,
    )
    assert dropped(categorize(everything, rules, AS_OF)).reason == "invalid"
    builder = make_permit(
        "New 2-story single-family residence **VOL BUILD PROJECT** temporary",
        issued_date=old,
    )
    assert dropped(categorize(builder, rules, AS_OF)).reason == "production_builder"
    junk = make_permit("Temporary Meter Loop", issued_date=old)
    assert dropped(categorize(junk, rules, AS_OF)).reason == "junk:temporary"
    stale = make_permit("Replace siding", issued_date=old)
    assert dropped(categorize(stale, rules, AS_OF)).reason == "stale"


# ---------------------------------------------------------------- freshness


def test_freshness_is_judged_against_the_given_clock(rules: Rules) -> None:
    assert rules.stale_after_days == 90
    permit = make_permit("Replace siding", issued_date=date(2015, 1, 2))
    fresh = kept(categorize(permit, rules, datetime(2015, 4, 2, tzinfo=UTC)))
    assert fresh.categorization.days_old == 90
    assert fresh.categorization.as_of == date(2015, 4, 2)
    stale = dropped(categorize(permit, rules, datetime(2015, 4, 3, tzinfo=UTC)))
    assert stale.reason == "stale"
    assert "91 days" in stale.detail


def test_unknown_issue_date_is_never_stale_and_never_brand_new(rules: Rules) -> None:
    permit = make_permit("Replace siding", issued_date=None)
    result = kept(categorize(permit, rules, datetime(2030, 1, 1, tzinfo=UTC)))
    assert result.categorization.days_old is None
    assert FLAG_ISSUED_DATE_UNKNOWN in result.categorization.flags


def test_the_same_input_gives_the_same_output(rules: Rules) -> None:
    permit = make_permit("Total demo of home.")
    assert categorize(permit, rules, AS_OF) == categorize(permit, rules, AS_OF)


# ---------------------------------------------------------------- the lot's owner


def fort_worth_trade_permit(permit_type: str, subtype: str, owner: str, **fields: Any) -> RawPermit:
    """A Fort Worth trade permit as the portal sends most of them: no description."""
    values: dict[str, Any] = {
        "jurisdiction": "fort_worth_tx",
        "permit_number": "PE26-00001",
        "permit_type": permit_type,
        "work_type": subtype,
        "owner_name": owner,
    }
    values.update(fields)
    return make_permit(None, **values)


def confidence(result: CategorizedPermit | DiscardedPermit) -> str:
    assert result.categorization is not None
    return next(
        e.split()[0].removeprefix("confidence:")
        for e in result.categorization.evidence
        if e.startswith("confidence:")
    )


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


def cary_permit(application_type: str, contractor: str | None, **fields: Any) -> RawPermit:
    """A Cary permit: no description, the application type and the general contractor."""
    values: dict[str, Any] = {
        "jurisdiction": "cary_nc",
        "permit_number": "14 - 1",
        "permit_type": application_type,
        "contractor_name": contractor,
        "owner_name": "ROBERT & CHRISTINE SMITH",
        "issued_date": None,
    }
    values.update(fields)
    return make_permit(None, **values)


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


# ---------------------------------------------------------------- water and sewer types


def test_a_residential_water_sewer_connection_is_a_new_homes_utility_tap(rules: Rules) -> None:
    tap = cary_permit("MORRISVILLE RESIDENTIAL WATER/SEWER", None)
    result = kept(categorize(tap, rules, AS_OF))
    assert result.categorization.category is Category.NEW_CONSTRUCTION
    assert confidence(result) == "low"
    builder = cary_permit("MORRISVILLE RESIDENTIAL WATER/SEWER", None, owner_name="PULTE GROUP")
    assert dropped(categorize(builder, rules, AS_OF)).reason == "production_builder"


def test_replacing_existing_water_sewer_lines_is_sewer_repair(rules: Rules) -> None:
    permit = cary_permit("REPLACE EXISTING WATER/SEWER LINE(S)", "ROTO-ROOTER")
    result = dropped(categorize(permit, rules, AS_OF))
    assert result.reason == "junk:sewer_repair"
    assert result.categorization is not None
    assert result.categorization.category is Category.PLUMBING


def test_a_person_named_last_name_first_is_not_a_builder_shape(rules: Rules) -> None:
    permit = fort_worth_trade_permit(
        "Residential Building Permit", "New", "HOMES, TAYLOR", permit_number="PB26-1"
    )
    kept(categorize(permit, rules, AS_OF))
    company = fort_worth_trade_permit(
        "Residential Building Permit", "New", "Riverside Homes, LLC", permit_number="PB26-2"
    )
    assert dropped(categorize(company, rules, AS_OF)).reason == "production_builder"


@pytest.mark.parametrize(
    ("application_type", "category"),
    [
        ("ELEC - NEW NON-RESIDENTIAL", Category.NEW_CONSTRUCTION),
        ("MECH - NEW RESIDENTIAL", Category.NEW_CONSTRUCTION),
        ("ELEC - NON-RESIDENTIAL ALTERATION", Category.COMMERCIAL_ELECTRICAL),
    ],
)
def test_a_trade_permit_for_a_new_building_is_that_buildings_new_construction(
    rules: Rules, application_type: str, category: Category
) -> None:
    permit = cary_permit(application_type, "TRIANGLE ELECTRICAL SERVICES")
    assert kept(categorize(permit, rules, AS_OF)).categorization.category is category


# ---------------------------------------------------------------- a new house's amenities and site


@pytest.mark.parametrize(
    ("description", "fields", "tags"),
    [
        # amenities listed in a new-home description are the house's, not projects or tags
        (
            "New 2 story single family residence with attached garage, covered patio and deck",
            {},
            [],
        ),
        ("new residence, outdoor kitchen and covered patio", {}, []),
        # driveway and sidewalk sub-permits of a new house
        ("Driveway and sidewalk for new single family residence", {}, [Category.CONCRETE]),
        (
            "construct new driveway approach and sidewalk",
            {"permit_type": "Driveway / Sidewalks (DS)", "permit_class": "R- 101 Single Family"},
            [Category.CONCRETE],
        ),
    ],
)
def test_a_new_houses_amenities_and_site_work_stay_the_new_house(
    rules: Rules, description: str, fields: dict[str, str], tags: list[Category]
) -> None:
    result = kept(categorize(make_permit(description, **fields), rules, AS_OF))
    assert result.categorization.category is Category.NEW_CONSTRUCTION
    assert result.categorization.tags == tags


def test_a_covered_patio_on_an_existing_house_is_the_project(rules: Rules) -> None:
    permit = make_permit("Add covered patio to existing residence")
    assert kept(categorize(permit, rules, AS_OF)).categorization.category is (
        Category.OUTDOOR_LIVING
    )
