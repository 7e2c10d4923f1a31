"""Reading CAD exports: the TAD JSON sample and a CSV through a column mapping."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from services.enricher.cad_formats import (
    CadFormatError,
    csv_reader,
    load_csv_mapping,
    read_tad_json,
    reader_for,
)
from tests.enricher.portal_forms import TARRANT_SAMPLE

EXAMPLE_MAPPING = Path(__file__).resolve().parents[2] / "docs" / "cad_mapping_example.yaml"
HEADER = (
    "ACCOUNT_NUM,GIS_PARCEL_ID,STREET_NUM,STREET_NAME,UNIT_ID,PROPERTY_CITY,PROPERTY_ZIPCODE,"
    "OWNER_NAME,OWNER_ADDRESS_LINE1,OWNER_ADDRESS_LINE2,OWNER_CITY,OWNER_STATE,OWNER_ZIPCODE,"
    "TOT_MARKET_VAL,HOMESTEAD_EXEMPT,YR_BUILT,LIVING_AREA_SF,PROPERTY_CLASS\n"
)


def read_csv(rows: str) -> list[dict[str, object]]:
    read = csv_reader(load_csv_mapping(EXAMPLE_MAPPING))
    return [record.fields for record in read(io.BytesIO((HEADER + rows).encode()))]


def test_tad_sample_streams_every_parcel_with_our_field_names(shared_data: Path) -> None:
    with (shared_data / TARRANT_SAMPLE).open("rb") as stream:
        records = list(read_tad_json(stream))
    assert len(records) == 2_839
    first = records[0]
    assert first.position == "parcels[0]"
    assert first.fields["account_id"] == "1309"
    assert first.fields["situs_address"] == "704 E WEATHERFORD ST"
    assert first.fields["market_value"] == 556381
    assert {r.problem for r in records} == {None}


def test_tad_json_that_is_not_json_is_a_format_error() -> None:
    with pytest.raises(CadFormatError, match="not valid JSON"):
        list(read_tad_json(io.BytesIO(b'{"parcels": [{"account_num": "1"}, {oops')))


def test_csv_mapping_joins_split_columns_and_reads_homestead_codes() -> None:
    (fields,) = read_csv(
        "00042,14437-29-32,704,E WEATHERFORD ST,,FORT WORTH,76102-1234,"
        'DAILEY TODD,PO BOX 12,,FORT WORTH,TX,76101,"$556,381.00",HS,1910,2550,A1\n'
    )
    assert fields["account_id"] == "00042"
    assert fields["situs_address"] == "704 E WEATHERFORD ST"
    assert fields["owner_mailing_address"] == "PO BOX 12"
    assert fields["market_value"] == "$556,381.00"
    assert fields["homestead"] is True


def test_csv_row_with_a_missing_field_is_a_problem_not_a_crash() -> None:
    read = csv_reader(load_csv_mapping(EXAMPLE_MAPPING))
    records = list(read(io.BytesIO((HEADER + "1,2,3\n").encode())))
    assert records[0].problem == "row has more or fewer fields than the header"
    assert records[0].position == "line 2"


def test_mapping_naming_a_column_the_file_lacks_fails_before_any_record(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  account_id: ACCT\n  situs_address: SITUS\n")
    read = csv_reader(load_csv_mapping(mapping))
    with pytest.raises(CadFormatError, match=r"\['SITUS'\]"):
        list(read(io.BytesIO(b"ACCT,ADDRESS\n1,704 E WEATHERFORD ST\n")))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns:\n  situs_address: SITUS\n", "account_id must be mapped"),
        ("columns:\n  account_id: A\n  market_value: [LAND, IMPR]\n", "only text fields"),
        ("columns:\n  account_id: A\n  acount_owner: B\n", "acount_owner"),
        ("columns: [", "cannot read mapping"),
    ],
)
def test_bad_mapping_is_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(text)
    with pytest.raises(CadFormatError, match=message):
        load_csv_mapping(mapping)


def test_format_and_mapping_must_fit_together() -> None:
    with pytest.raises(CadFormatError, match="csv needs --mapping"):
        reader_for("csv", None)
    with pytest.raises(CadFormatError, match="built-in mapping"):
        reader_for("tad-json", EXAMPLE_MAPPING)
