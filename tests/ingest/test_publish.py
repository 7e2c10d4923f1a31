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
