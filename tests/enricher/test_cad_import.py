"""``leadstream cad import`` into real PostgreSQL, and matching against what it loaded."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from schemas.taxonomy import MatchKind
from services.cli import main as leadstream
from services.common.db.engine import make_engine
from services.common.db.tables.pipeline import PropertyRow
from services.enricher.address import normalize_address
from services.enricher.cad_formats import SourceRecord, read_tad_json
from services.enricher.cad_import import import_records
from services.enricher.lookup import fetch_candidates
from services.enricher.matching import MatchRequest, find_property
from tests.enricher.factories import permit
from tests.enricher.portal_forms import (
    TARRANT_SAMPLE,
    other_house_number,
    portal_forms,
    tarrant_situs,
)

pytestmark = pytest.mark.postgres

EXAMPLE_MAPPING = Path(__file__).resolve().parents[2] / "docs" / "cad_mapping_example.yaml"
CSV_HEADER = (
    "ACCOUNT_NUM,GIS_PARCEL_ID,STREET_NUM,STREET_NAME,UNIT_ID,PROPERTY_CITY,PROPERTY_ZIPCODE,"
    "OWNER_NAME,OWNER_ADDRESS_LINE1,OWNER_ADDRESS_LINE2,OWNER_CITY,OWNER_STATE,OWNER_ZIPCODE,"
    "TOT_MARKET_VAL,HOMESTEAD_EXEMPT,YR_BUILT,LIVING_AREA_SF,PROPERTY_CLASS\n"
)


def cad_import(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    *args: str,
) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    code = leadstream(["cad", "import", *args])
    return code, capsys.readouterr().out


def count_lines(output: str) -> dict[str, int]:
    counts = {}
    for line in output.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] in ("inserted", "updated", "unchanged", "rejected"):
            counts[words[0]] = int(words[1].replace(",", ""))
    return counts


def test_tarrant_sample_loads_once_and_reloads_as_unchanged(
    shared_data: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = str(shared_data / TARRANT_SAMPLE)
    args = (sample, "--county", "Tarrant", "--format", "tad-json")
    code, first = cad_import(monkeypatch, database_url, capsys, *args)
    assert code == 0
    assert count_lines(first) == {"inserted": 2_839, "updated": 0, "unchanged": 0, "rejected": 0}
    code, second = cad_import(monkeypatch, database_url, capsys, *args)
    assert code == 0
    assert count_lines(second) == {"inserted": 0, "updated": 0, "unchanged": 2_839, "rejected": 0}
    with make_engine(database_url).connect() as conn:
        stored = conn.execute(
            select(func.count(), func.count(PropertyRow.situs_normalized)).where(
                PropertyRow.county == "tarrant"
            )
        ).one()
    assert tuple(stored) == (2_839, 2_829)  # ten parcels are land without a house number


def test_csv_import_updates_changed_accounts_and_reports_rejects(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    export = tmp_path / "county.csv"
    rows = [
        "1,P-1,704,E WEATHERFORD ST,,FORT WORTH,76102,DAILEY TODD,704 E WEATHERFORD ST,,"
        "FORT WORTH,TX,76102,556381,HS,1910,2550,A1",
        "2,P-2,3866,DONALEE ST,,FORT WORTH,76119,CASTRUITA MARIA,1913 ASH CRESCENT ST,,"
        "FORT WORTH,TX,76104,83155,,1952,750,A1",
        ",P-3,12,MAIN ST,,FORT WORTH,76102,NOBODY,,,,,,1,,,,A1",
        "4,P-4,14,MAIN ST,,FORT WORTH,76102,SOMEBODY,,,,,,lots,,,,A1",
    ]
    export.write_text(CSV_HEADER + "\n".join(rows) + "\n")
    args = (
        str(export),
        "--county",
        "Example",
        "--format",
        "csv",
        "--mapping",
        str(EXAMPLE_MAPPING),
    )
    code, output = cad_import(monkeypatch, database_url, capsys, *args)
    assert code == 0
    assert count_lines(output) == {"inserted": 2, "updated": 0, "unchanged": 0, "rejected": 2}
    assert "account_id: missing  (e.g. line 4)" in output
    assert "market_value: Input should be a valid decimal  (e.g. line 5)" in output

    rows[1] = rows[1].replace("83155", "91000")
    export.write_text(CSV_HEADER + "\n".join(rows[:2]) + "\n")
    code, output = cad_import(monkeypatch, database_url, capsys, *args)
    assert count_lines(output) == {"inserted": 0, "updated": 1, "unchanged": 1, "rejected": 0}
    with make_engine(database_url).connect() as conn:
        value, homestead = conn.execute(
            select(PropertyRow.market_value, PropertyRow.homestead).where(
                PropertyRow.account_id == "2"
            )
        ).one()
    assert (value, homestead) == (91_000, None)


def test_unreadable_export_fails_with_the_reason(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"parcels": [{"account_num": "1", "situs_address": "1 MAIN ST"}, {')
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert leadstream(["cad", "import", str(broken), "--county", "x", "--format", "tad-json"]) == 1
    assert "not valid JSON" in capsys.readouterr().err


def _records(*accounts: tuple[str, str]) -> list[SourceRecord]:
    return [
        SourceRecord(f"line {i}", {"account_id": account_id, "situs_address": situs})
        for i, (account_id, situs) in enumerate(accounts, 2)
    ]


def test_accounts_sharing_a_street_line_are_counted_after_every_import(database_url: str) -> None:
    engine = make_engine(database_url)
    import_records(engine, "x", _records(("1", "10 ELM ST # A"), ("2", "10 ELM ST # B")))
    import_records(engine, "x", _records(("2", "12 ELM ST")))  # account 2 moved
    with engine.connect() as conn:
        rows = conn.execute(select(PropertyRow.account_id, PropertyRow.units_at_situs))
        units = {account_id: count for account_id, count in rows}
    assert units == {"1": 1, "2": 1}


def test_tarrant_addresses_written_the_portal_ways_find_their_account(
    shared_data: Path, database_url: str
) -> None:
    engine = make_engine(database_url)
    with (shared_data / TARRANT_SAMPLE).open("rb") as stream:
        import_records(engine, "tarrant", read_tad_json(stream))
    situs = [(a, s) for a, s in tarrant_situs(shared_data) if normalize_address(s) is not None]
    accounts_at = Counter(normalize_address(s) for _, s in situs)
    chosen = situs[::5]
    forms = [(account, form) for account, address in chosen for form in portal_forms(address)]
    neighbours = [
        other_house_number(address)
        for _, address in chosen
        if normalize_address(other_house_number(address)) not in accounts_at
    ]
    requests = [MatchRequest.for_permit(permit(property_address=f)) for _, f in forms]
    requests += [MatchRequest.for_permit(permit(property_address=n)) for n in neighbours]
    with engine.connect() as conn:
        candidates = fetch_candidates(conn, requests)  # one query for the whole batch
    found = [find_property(request, candidates) for request in requests]

    def expected(account: str, form: str) -> str | None:
        # A street line several accounts share (units listed without unit numbers) is
        # ambiguous: no match rather than a guess.
        return account if accounts_at[normalize_address(form)] == 1 else None

    got = [facts.account_id if facts else None for _, facts in found]
    assert got[: len(forms)] == [expected(account, form) for account, form in forms]
    assert sum(1 for account, form in forms if expected(account, form)) > 2_000
    assert {kind for kind, _ in found[len(forms) :]} == {MatchKind.NONE}
