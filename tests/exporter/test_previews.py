"""Previews as pure functions: redaction of the scorer's texts, bands, the CSV record."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.exporter.market_bands import market_value_band
from services.exporter.previews import REDACTED, Secrets, preview_record, redact
from services.exporter.records import CSV_HEADER, LeadCells, Offer, csv_record

SECRETS = Secrets.of(
    names=("GARCIA, MARIA & JOSE", "Maria Garcia", "Blue Haven Pools LLC"),
    address="4512 Shoal Creek Blvd",
    permit_numbers=("BP-2026-004471", "2026-117788 EL"),
)


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        (
            "Maria Garcia pulled her own permit for a pool at 4512 Shoal Creek Blvd; "
            "the property is 2.1x the ZIP median.",
            ["Maria", "Garcia", "4512", "Shoal Creek"],
            ["pulled her own permit", "2.1x the ZIP median"],
        ),
        (
            "Owner GARCIA is the applicant (permit bp-2026-004471), 12 days old.",
            ["GARCIA", "bp-2026-004471"],
            ["12 days old", "Owner", "applicant"],
        ),
        (
            "Permit pulled by blue haven pools llc, a custom pool builder; shoal creek blvd "
            "is a busy street.",
            ["blue haven pools llc", "shoal creek blvd", "haven"],
            ["a custom pool builder", "busy street"],
        ),
        (
            "Neighbouring job at 118 W. Elm St and another at 9 Oak Hollow Lane; $85,000 job.",
            ["118 W. Elm St", "9 Oak Hollow Lane"],
            ["$85,000 job", "Neighbouring job at"],
        ),
        (
            "Related electrical permit 2026-117788 EL issued the same week.",
            ["117788"],
            ["Related electrical permit", "issued the same week"],
        ),
    ],
)
def test_redact_removes_names_addresses_and_permit_numbers(
    text: str, gone: list[str], kept: list[str]
) -> None:
    redacted = redact(text, SECRETS)
    assert redacted is not None and REDACTED in redacted
    for secret in gone:
        assert secret.lower() not in redacted.lower(), redacted
    for phrase in kept:
        assert phrase in redacted, redacted


def test_redact_leaves_text_without_secrets_alone() -> None:
    text = "Homeowner-pulled pool permit on a high-value property, 45% above the county median."
    assert redact(text, SECRETS) == text
    assert redact(None, SECRETS) is None
    assert redact("", SECRETS) == ""


def test_market_value_bands() -> None:
    assert market_value_band(None) is None
    assert market_value_band(Decimal("99999.99")) == "under $100k"
    assert market_value_band(250_000) == "$200k–$400k"
    assert market_value_band(Decimal("400000")) == "$400k–$700k"
    assert market_value_band(820_000.0) == "$700k–$1M"
    assert market_value_band(5_000_000) == "$2M+"


def full_record() -> list[str]:
    cells = LeadCells(
        id=7,
        permit_number="BP-2026-004471",
        city="Austin",
        county="Travis",
        property_address="4512 Shoal Creek Blvd",
        owner_name="GARCIA, MARIA & JOSE",
        project_description="Pool for the Garcia family",
        market_value=Decimal("820000"),
        issued_date=date(2026, 4, 20),
        is_absentee=False,
        score=91,
        tier="A",
        trade_group="luxury_outdoor",
        category="pool",
        reasoning="GARCIA pulled the permit at 4512 Shoal Creek Blvd.",
        ideal_contractor="Premium pool builder",
        contact_priority="call",
        flags=["Applicant Bob Smithers is not the owner", "fresh"],
        scored_at=datetime(2026, 5, 2, tzinfo=UTC),
        related_permits=[{"permit_id": "EL-99881", "category": "electrical"}],
        zip_code="78731",
        latitude=30.33,
        longitude=-97.76,
        location_approximate=False,
    )
    return csv_record(cells, date(2026, 5, 2), Offer(Decimal("45.00"), True))


def test_a_preview_record_empties_the_contact_columns_and_keeps_the_rest() -> None:
    full = dict(zip(CSV_HEADER, full_record(), strict=True))
    assert full["revealed"] == "true" and full["market_value"] == "820000"
    preview = dict(zip(CSV_HEADER, preview_record(full_record(), ["Bob Smithers"]), strict=True))
    text = json.dumps(preview)
    for secret in ("GARCIA", "4512", "Shoal Creek", "BP-2026", "EL-99881", "Smithers", "30.33"):
        assert secret.lower() not in text.lower()
    assert preview["revealed"] == "false" and preview["price"] == "45.00"
    assert preview["market_value"] == "" and preview["market_value_band"] == "$700k–$1M"
    for kept in ("city", "county", "zip_code", "score", "tier", "category", "days_old"):
        assert preview[kept] == full[kept]
    assert preview["flags"] == f"Applicant {REDACTED} is not the owner; fresh"
