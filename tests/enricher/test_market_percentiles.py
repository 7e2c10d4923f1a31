"""Market-value percentiles and medians, computed by a real ``cad import`` into PostgreSQL."""

from __future__ import annotations

import csv
import json
import statistics
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from schemas.taxonomy import MatchKind
from services.common.db.tables.pipeline import PropertyRow
from services.enricher.cad_import import MIN_PARCELS_FOR_PERCENTILE
from services.enricher.enrich import property_match
from services.enricher.lookup import fetch_candidates
from services.enricher.matching import MatchRequest, find_property
from tests.enricher.factories import permit
from tests.enricher.portal_forms import TARRANT_SAMPLE
from tests.enricher.test_cad_import import cad_import

pytestmark = pytest.mark.postgres

MAPPING = """\
columns:
  account_id: ACCOUNT
  situs_address: SITUS
  situs_city: CITY
  situs_zip: ZIP
  owner_name: OWNER
  market_value: VALUE
"""
SMALL_ZIP = "76199"


def _tarrant(
    shared_data: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = str(shared_data / TARRANT_SAMPLE)
    args = (sample, "--county", "Tarrant", "--format", "tad-json")
    assert cad_import(monkeypatch, database_url, capsys, *args)[0] == 0


def _rows(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            row.account_id: row
            for row in conn.execute(
                select(
                    PropertyRow.account_id,
                    PropertyRow.situs_zip,
                    PropertyRow.market_value,
                    PropertyRow.market_value_percentile_county,
                    PropertyRow.market_value_percentile_zip,
                    PropertyRow.county_median_market_value,
                    PropertyRow.zip_median_market_value,
                    PropertyRow.updated_at,
                )
            )
        }


def test_the_tarrant_sample_gets_county_percentiles_and_median(
    shared_data: Path,
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _tarrant(shared_data, database_url, monkeypatch, capsys)
    rows = _rows(engine)
    valued = sorted((r for r in rows.values() if r.market_value), key=lambda r: r.market_value)
    unvalued = [r for r in rows.values() if not r.market_value]
    assert len(valued) + len(unvalued) == 2_839 and len(valued) > 2_800
    assert valued[-1].market_value_percentile_county >= 0.99
    assert valued[0].market_value_percentile_county == 0
    middle = valued[len(valued) // 2]
    assert middle.market_value_percentile_county == pytest.approx(0.5, abs=0.01)
    median = Decimal(statistics.median(r.market_value for r in valued)).quantize(Decimal("0.01"))
    assert {r.county_median_market_value for r in valued} == {median}
    # Ranks rise with value; ties share one.
    percentiles = [r.market_value_percentile_county for r in valued]
    assert percentiles == sorted(percentiles)
    # The TAD export has no situs ZIP: no ZIP figures, never a guess.
    assert all(r.market_value_percentile_zip is None for r in rows.values())
    assert all(r.zip_median_market_value is None for r in rows.values())
    assert all(r.market_value_percentile_county is None for r in unvalued)


def _sample_as_csv(shared_data: Path, path: Path, value_of: dict[str, int] | None = None) -> None:
    """The sample with situs ZIPs: 20 parcels in a small ZIP, the rest split between two."""
    parcels = json.loads((shared_data / TARRANT_SAMPLE).read_text())["parcels"]
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["ACCOUNT", "SITUS", "CITY", "ZIP", "OWNER", "VALUE"])
        for i, parcel in enumerate(parcels):
            zip_code = SMALL_ZIP if i < 20 else ("76101" if i % 2 else "76102")
            account = parcel["account_num"]
            value = (value_of or {}).get(account, parcel["total_value"])
            writer.writerow([account, parcel["situs_address"], "FORT WORTH", zip_code, "X", value])


def test_zip_percentiles_need_enough_parcels_and_a_reimport_refreshes_them(
    shared_data: Path,
    tmp_path: Path,
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    export, mapping = tmp_path / "tarrant_zips.csv", tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    args = (str(export), "--county", "tarrant", "--format", "csv", "--mapping", str(mapping))
    _sample_as_csv(shared_data, export)
    assert cad_import(monkeypatch, database_url, capsys, *args)[0] == 0
    rows = _rows(engine)

    small = [r for r in rows.values() if r.situs_zip == SMALL_ZIP]
    assert len(small) == 20 < MIN_PARCELS_FOR_PERCENTILE
    assert all(r.market_value_percentile_zip is None for r in small)
    assert all(r.zip_median_market_value is None for r in small)
    assert all(r.market_value_percentile_county is not None for r in small if r.market_value)
    for zip_code in ("76101", "76102"):
        valued = sorted(
            (r for r in rows.values() if r.situs_zip == zip_code and r.market_value),
            key=lambda r: r.market_value,
        )
        assert valued[-1].market_value_percentile_zip == 1
        assert valued[len(valued) // 2].market_value_percentile_zip == pytest.approx(0.5, abs=0.01)
        median = statistics.median(r.market_value for r in valued)
        assert float(valued[0].zip_median_market_value) == pytest.approx(float(median), abs=0.01)

    # The cheapest parcel of 76101 becomes the county's most valuable: a re-import re-ranks it
    # and everything it overtook, and the medians move.
    cheapest = min(
        (r for r in rows.values() if r.situs_zip == "76101" and r.market_value),
        key=lambda r: r.market_value,
    )
    _sample_as_csv(shared_data, export, {cheapest.account_id: 90_000_000})
    assert cad_import(monkeypatch, database_url, capsys, *args)[0] == 0
    after = _rows(engine)
    assert after[cheapest.account_id].market_value_percentile_county == 1
    assert after[cheapest.account_id].market_value_percentile_zip == 1
    old_top = max(rows.values(), key=lambda r: r.market_value or 0)
    assert after[old_top.account_id].market_value_percentile_county < 1
    assert after[cheapest.account_id].zip_median_market_value > cheapest.zip_median_market_value

    # An unchanged re-import fills figures that are missing (a county imported before the
    # columns existed) and changes nothing else.
    with engine.begin() as conn:
        conn.execute(
            update(PropertyRow)
            .where(PropertyRow.account_id == old_top.account_id)
            .values(market_value_percentile_county=None, zip_median_market_value=None)
        )
    assert cad_import(monkeypatch, database_url, capsys, *args)[0] == 0
    again = _rows(engine)
    assert again == after


def test_the_enricher_carries_the_figures_onto_the_permit(
    shared_data: Path,
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _tarrant(shared_data, database_url, monkeypatch, capsys)
    request = MatchRequest.for_permit(
        permit(property_address="704 East Weatherford Street", city="Fort Worth")
    )
    with engine.connect() as conn:
        match, facts = find_property(request, fetch_candidates(conn, [request]))
        stored = conn.execute(
            select(
                PropertyRow.market_value_percentile_county, PropertyRow.county_median_market_value
            ).where(PropertyRow.account_id == "1309")
        ).one()
    assert match is MatchKind.ADDRESS_UNIT and facts is not None
    cad = property_match(permit(property_address="704 East Weatherford Street"), match, facts)
    assert cad.market_value == 556_381
    percentile, median = stored
    assert percentile is not None and median is not None
    assert cad.market_value_percentile_county == percentile and 0.5 < percentile < 1
    assert cad.county_median_market_value == float(median)
    assert cad.market_value_percentile_zip is None and cad.zip_median_market_value is None
