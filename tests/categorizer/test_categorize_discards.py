"""categorize()'s discards and their precedence: junk, production builders, invalid, stale."""

from __future__ import annotations

from datetime import date

import pytest

from schemas.taxonomy import Category
from services.categorizer.categorize import categorize
from services.categorizer.rule_book import Rules
from tests.categorizer.conftest import AS_OF, dropped, kept, make_permit


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
