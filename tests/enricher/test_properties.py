"""A CAD record as stored: identifiers, values and the content hash that makes re-imports free."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.enricher.properties import CadRecord, county_key, parcel_key, property_row


def test_ids_compare_without_separators_case_or_leading_zeros() -> None:
    assert parcel_key("00001309") == parcel_key("1309") == "1309"
    assert parcel_key("14437-29-32") == parcel_key("14437 29 32")
    assert parcel_key("44205c-09") == "44205C09"
    assert county_key(" Tarrant County ") == county_key("TARRANT") == "tarrant"


def test_export_values_are_read_as_people_write_them() -> None:
    record = CadRecord.model_validate(
        {
            "account_id": " 00042 ",
            "market_value": "$556,381.00",
            "year_built": "0",
            "living_area": "2,550",
            "situs_zip": "76102-1234",
            "situs_city": "Fort Worth",
            "owner_name": "   ",
            "homestead": "yes",
        }
    )
    assert record.account_id == "42"
    assert record.market_value == Decimal("556381.00")
    assert record.year_built is None  # 0 means unknown in CAD exports
    assert record.living_area == 2_550
    assert (record.situs_zip, record.situs_city) == ("76102", "FORT WORTH")
    assert record.owner_name is None
    assert record.homestead is True


@pytest.mark.parametrize(
    "values",
    [
        {"account_id": ""},
        {"account_id": "1", "market_value": "lots"},
        {"account_id": "1", "market_value": -5},
        {"account_id": "1", "year_built": 1492},
        {"account_id": "1", "owner_mailing_state": "Texas"},
        {"account_id": "1", "situs_city": "X" * 129},
    ],
)
def test_invalid_values_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CadRecord.model_validate(values)


def test_content_hash_changes_with_the_record_and_only_then() -> None:
    record = CadRecord(account_id="1", situs_address="704 E Weatherford St", market_value=1)
    same = CadRecord(account_id="0001", situs_address="704 E Weatherford St", market_value="1.00")
    changed = record.model_copy(update={"market_value": Decimal("2")})
    assert property_row("tarrant", record) == property_row("Tarrant", same)
    assert (
        property_row("tarrant", record)["content_hash"]
        != property_row("tarrant", changed)["content_hash"]
    )


def test_row_carries_the_normalised_situs_with_its_unit_apart() -> None:
    row = property_row("tarrant", CadRecord(account_id="9", situs_address="5722 ENSIGN DR E # 84"))
    assert (row["situs_normalized"], row["situs_street"], row["situs_unit"]) == (
        "5722 ENSIGN DR E #84",
        "5722 ENSIGN DR E",
        "84",
    )
