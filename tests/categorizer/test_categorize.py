"""categorize() on real permit descriptions (quoted from ../shared/data) and portal fields."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from schemas.taxonomy import Category, TradeGroup
from services.categorizer.categorize import FLAG_ISSUED_DATE_UNKNOWN, categorize
from services.categorizer.rule_book import Rules
from tests.categorizer.conftest import AS_OF, cary_permit, confidence, dropped, kept, make_permit

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
