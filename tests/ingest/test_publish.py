"""``leadstream publish`` against the real broker: one keyed message per valid row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.permits import RawPermit
from schemas.topics import Topic
from services.cli import main as leadstream
from services.common.config import KafkaSettings
from tests.support.kafka import read_topic

FILES = {
    "austin": "austin_permits_2015-01_to_2016-04.csv",
    "fortworth": "fortworth_permits_2026-04.json",
    "nashville": "nashville_permits_2021-2024.csv",
    "cary": "cary_nc_permits_fy2012-2015.csv",
}


@pytest.mark.kafka
@pytest.mark.parametrize("fmt", sorted(FILES))
def test_publish_each_real_format(
    kafka_env: KafkaSettings, shared_data: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = leadstream(
        [
            "publish",
            str(shared_data / FILES[fmt]),
            "--format",
            fmt,
            "--limit",
            "40",
            "--scraped-at",
            "2016-05-01",
        ]
    )
    assert code == 0
    assert "published 40 of 40 rows" in capsys.readouterr().out
    messages = read_topic(kafka_env, Topic.RAW.value, expect=40)
    assert len(messages) == 40
    for key, value in messages:
        permit = RawPermit.model_validate_json(value)
        assert key == permit.key
        assert permit.scraped_at is not None and permit.scraped_at.isoformat() == (
            "2016-05-01T00:00:00+00:00"
        )


@pytest.mark.kafka
def test_rejected_rows_are_counted_by_reason_and_republishing_is_harmless(
    kafka_env: KafkaSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scraper.jsonl"
    good = {"jurisdiction": "cary_nc", "permit_number": "15 - 1", "property_address": "1 Main St"}
    lines = [
        json.dumps(good),
        json.dumps({**good, "permit_number": "15 - 2", "valuation": -5}),
        json.dumps({**good, "permit_number": "15 - 3", "valuation": -7}),
        "{broken",
    ]
    path.write_text("\n".join(lines) + "\n")
    for _ in range(2):
        assert leadstream(["publish", str(path), "--format", "jsonl", "--rate", "100"]) == 0
    out = capsys.readouterr().out
    assert "published 1 of 4 rows" in out
    assert (
        "2 rejected  invalid message: valuation: Input should be greater than or equal to 0" in out
    )
    assert "(first at row 2)" in out
    assert "Invalid JSON: key must be a string" in out
    # Published twice, the same permit under the same key: downstream sees one identity.
    messages = read_topic(kafka_env, Topic.RAW.value, expect=2)
    assert [key for key, _ in messages] == ["cary_nc:15 - 1", "cary_nc:15 - 1"]


def test_a_file_in_another_format_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("a,b\n1,2\n")
    assert leadstream(["publish", str(path), "--format", "fortworth"]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.kafka
def test_unreadable_values_reject_their_row_and_the_report_names_them(
    kafka_env: KafkaSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Windows-1252 export with a few hostile rows: the good rows are published, each bad
    one is counted with its reason, and nothing stops the file."""
    path = tmp_path / "nashville.csv"
    rows = [
        "Permit__,Address,Purpose,Date_Entered,Date_Issued,ZIP",
        "1,1 Main St,Caf\u00e9 remodel,1681189200000,,37212",
        "2,2 Main St,Deck,99999999999999999999,,37212",
        "3,3 Main St,Deck,1681189200000,01/01/0001,37212",
        "4,4 Main St,Deck,1681189200000,12/31/9999,37212",
        "5,5 Main St,Pool,1681189200000,,37212",
    ]
    path.write_bytes(("\n".join(rows) + "\n").encode("cp1252"))
    assert leadstream(["publish", str(path), "--format", "nashville"]) == 0
    out, err = capsys.readouterr()
    assert f"reading {path} as cp1252 (it is not UTF-8)" in err
    assert "published 2 of 5 rows" in out and "rejected 3" in out
    assert "Date_Entered: '99999999999999999999' is out of range" in out
    lines = out.splitlines()
    for value, row in (("0001-01-01", 3), ("9999-12-31", 4)):
        (line,) = [line for line in lines if f"issued_date: {value} is outside" in line]
        assert "1900-01-01..2100-12-31" in line and line.endswith(f"(first at row {row})")
    messages = read_topic(kafka_env, Topic.RAW.value, expect=2)
    permits = {p.permit_number: p for p in (RawPermit.model_validate_json(v) for _, v in messages)}
    assert sorted(permits) == ["1", "5"]  # two keys, two partitions: in no particular order
    assert permits["1"].work_description == "Caf\u00e9 remodel"


def test_an_encoding_that_does_not_fit_the_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scraper.jsonl"
    path.write_bytes(b'{"jurisdiction": "cary_nc", "permit_number": "caf\xe9"}\n')
    assert leadstream(["publish", str(path), "--format", "jsonl", "--encoding", "utf-8"]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "--encoding" in err
