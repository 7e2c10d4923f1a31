"""Measuring the rules against hand labels: the metrics, the commands, the targets."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from schemas.taxonomy import Category
from services.categorizer.evaluation import LabelsError, Verdict, evaluate, read_labels
from services.cli import main as leadstream

AUSTIN = "austin_permits_2015-01_to_2016-04.csv"


def verdict(number: str, category: Category, discard: str = "none") -> Verdict:
    return Verdict(number, category, frozenset(), False, discard)


def test_metrics_on_a_small_hand_made_set() -> None:
    labels = {
        "1": verdict("1", Category.POOL),
        "2": verdict("2", Category.HVAC, "junk"),
        "3": verdict("3", Category.NEW_CONSTRUCTION, "production_builder"),
        "4": verdict("4", Category.ROOF),
    }
    predictions = {
        "1": verdict("1", Category.POOL),
        "2": verdict("2", Category.HVAC, "junk"),
        "3": verdict("3", Category.NEW_CONSTRUCTION, "stale"),  # freshness is not labelled
        "4": verdict("4", Category.SIDING, "junk"),
    }
    result = evaluate(labels, predictions)
    assert result.compared == 4
    assert result.category_accuracy == 0.75
    assert result.discards["junk"].precision == 0.5
    assert result.discards["junk"].recall == 1.0
    assert result.discards["production_builder"].recall == 0.0
    assert [(c, missed) for c, missed, _, _ in result.confusion] == [(Category.ROOF, 1)]


def test_a_labels_file_with_an_unknown_category_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "permit_number,category,tags,is_commercial,discard\n"
        "2015-1 BP,pool,,0,none\n"
        "2015-2 BP,jacuzzi,,0,none\n"
    )
    with pytest.raises(LabelsError, match=r"labels.csv:3: 'jacuzzi'"):
        read_labels(path)


@pytest.mark.slow
def test_eval_command_meets_the_targets_on_the_austin_labels(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = leadstream(
        [
            "eval",
            "categorize",
            "--data",
            str(shared_data / AUSTIN),
            "--format",
            "austin",
            "--labels",
            str(shared_data / "labels" / "austin_dev.csv"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    figures = {
        line.split(":")[0].strip(): line.split(":", 1)[1]
        for line in out.splitlines()
        if ":" in line
    }
    assert float(figures["primary category accuracy"]) >= 0.90
    for reason in ("production_builder", "junk"):
        f1 = float(figures[f"discard {reason}"].rsplit("F1", 1)[1])
        assert f1 >= 0.85, reason
    assert "worst categories" in out


def test_categorize_command_writes_one_row_per_permit_with_the_label_columns(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pred.csv"
    code = leadstream(
        [
            "categorize",
            str(shared_data / "fortworth_permits_2026-04.json"),
            "--format",
            "fortworth",
            "--as-of",
            "2026-04-11",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1258
    assert list(rows[0]) == [
        "permit_number",
        "category",
        "tags",
        "is_commercial",
        "discard",
        "trade_group",
        "evidence",
    ]
    discards = {row["discard"] for row in rows}
    assert discards <= {"none", "invalid", "production_builder", "junk", "stale"}
    # As of the scrape day, April 2026 permits are fresh; five have no address.
    assert "stale" not in discards
    assert sum(row["discard"] == "invalid" for row in rows) == 5
    assert "1,258 permits written" in capsys.readouterr().out
