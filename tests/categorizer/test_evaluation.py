"""Measuring the rules against hand labels: the metrics, the commands, the targets."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from schemas.taxonomy import Category
from services.categorizer.evaluation import (
    LabelsError,
    Verdict,
    confidence_of,
    evaluate,
    format_summary,
    read_labels,
)
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


# Each set's floor: what the rules reach (rules 2026.12-1: Austin 0.950, Fort Worth 0.907,
# Cary 0.940 primary accuracy) minus a small margin, so that a regression fails.
FLOORS = {
    # set: (data file, format, accuracy, accuracy on high-confidence labels, builder F1, junk F1)
    "austin_dev": (AUSTIN, "austin", 0.93, 0.97, 0.95, 0.93),
    "fortworth_dev": ("fortworth_permits_2026-04.json", "fortworth", 0.88, 0.93, 0.87, None),
    "cary_dev": ("cary_nc_permits_fy2012-2015.csv", "cary", 0.91, 0.96, 0.84, 0.94),
}


@pytest.mark.slow
def test_eval_command_holds_each_labelled_sets_floor(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["eval", "categorize"]
    for name, (data, format_name, *_) in FLOORS.items():
        arguments += ["--set", str(shared_data / "labels" / f"{name}.csv")]
        arguments += [str(shared_data / data), format_name]
    code = leadstream(arguments)
    out = capsys.readouterr().out
    assert code == 0
    assert "worst categories" in out
    lines = out.splitlines()
    header = lines[-5].split()
    assert header[:4] == ["set", "n", "accuracy", "acc"]
    table = {line.split()[0]: line.split() for line in lines[-4:-1]}
    for name, (_, _, accuracy, high, builder_f1, junk_f1) in FLOORS.items():
        row = dict(
            zip(
                [
                    "set",
                    "n",
                    "accuracy",
                    "high",
                    "low_labels",
                    "low_decisions",
                    "macro_f1",
                    "commercial",
                    "bld_p",
                    "bld_r",
                    "bld_f1",
                    "junk_f1",
                ],
                table[name],
                strict=True,
            )
        )
        assert float(row["accuracy"]) >= accuracy, (name, row)
        assert float(row["high"]) >= high, (name, row)
        assert float(row["bld_f1"]) >= builder_f1, (name, row)
        if junk_f1 is not None:  # the Fort Worth sample holds no junk
            assert float(row["junk_f1"]) >= junk_f1, (name, row)


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


def test_high_confidence_accuracy_and_low_confidence_shares() -> None:
    labels = {
        "1": Verdict("1", Category.POOL, frozenset(), False, "none"),
        "2": Verdict("2", Category.HVAC, frozenset(), False, "none", confidence="low"),
    }
    predictions = {
        "1": Verdict("1", Category.POOL, frozenset(), False, "none"),
        "2": Verdict("2", Category.PLUMBING, frozenset(), False, "none", confidence="low"),
    }
    result = evaluate(labels, predictions)
    assert result.category_accuracy == 0.5
    assert result.high_confidence_accuracy == 1.0
    assert result.high_confidence_compared == 1
    assert result.low_confidence_labels == 0.5
    assert result.low_confidence_decisions == 0.5
    assert (result.high_decision_accuracy, result.low_decision_accuracy) == (1.0, 0.0)


def test_the_categorizers_confidence_is_read_from_its_evidence() -> None:
    assert confidence_of(["description:pool", "confidence:low (weak evidence)"]) == "low"
    assert confidence_of(["description:pool", "confidence:high"]) == "high"
    assert confidence_of(["description:pool"]) == "high"  # output of older rules


def test_a_labels_file_with_a_bad_confidence_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "permit_number,category,tags,is_commercial,discard,confidence\n"
        "2015-1 BP,pool,,0,none,high\n"
        "2015-2 BP,pool,,0,none,maybe\n"
    )
    with pytest.raises(LabelsError, match=r"labels.csv:3: confidence"):
        read_labels(path)


def _labels_file(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(
        "permit_number,category,tags,is_commercial,discard,confidence\n"
        + "".join(f"{number},{category},,0,none,high\n" for number, category in rows)
    )
    return path


def _jsonl(path: Path, permits: list[tuple[str, str]]) -> Path:
    path.write_text(
        "".join(
            json.dumps(
                {
                    "jurisdiction": "austin_tx",
                    "permit_number": number,
                    "property_address": "1 MAIN ST",
                    "work_description": description,
                }
            )
            + "\n"
            for number, description in permits
        )
    )
    return path


def test_eval_measures_several_sets_in_one_run_and_prints_the_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _jsonl(tmp_path / "permits.jsonl", [("P1", "new pool"), ("P2", "reroof house")])
    right = _labels_file(tmp_path / "right.csv", [("P1", "pool"), ("P2", "roof")])
    half = _labels_file(tmp_path / "half.csv", [("P1", "pool"), ("P2", "siding")])
    code = leadstream(
        [
            "eval",
            "categorize",
            "--as-of",
            "2015-12-31",
            "--set",
            str(right),
            str(data),
            "jsonl",
            "--set",
            str(half),
            str(data),
            "jsonl",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "== right (permits.jsonl)" in out and "== half (permits.jsonl)" in out
    assert out.count("primary category accuracy:") == 2
    table = {line.split()[0]: line.split() for line in out.splitlines()[-3:]}
    assert table["right"][1:3] == ["2", "1.000"]
    assert table["half"][1:3] == ["2", "0.500"]
    assert table["mean"][1] == "0.750"  # each set counts once


def test_eval_with_the_single_set_flags_prints_one_table_and_no_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _jsonl(tmp_path / "permits.jsonl", [("P1", "new pool")])
    labels = _labels_file(tmp_path / "labels.csv", [("P1", "pool")])
    code = leadstream(
        ["eval", "categorize", "--data", str(data), "--format", "jsonl", "--labels", str(labels)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "primary category accuracy:   1.000" in out
    assert "mean" not in out


@pytest.mark.parametrize(
    "arguments",
    [
        ["--data", "x.csv", "--format", "austin"],  # no labels
        [],  # no set at all
        ["--set", "l.csv", "x.csv", "excel"],  # unknown format
    ],
)
def test_eval_refuses_an_incomplete_set(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert leadstream(["eval", "categorize", *arguments]) == 2
    assert "leadstream eval categorize:" in capsys.readouterr().err


def test_a_set_without_any_junk_shows_no_junk_score_and_stays_out_of_the_mean() -> None:
    with_junk = evaluate(
        {"1": verdict("1", Category.HVAC, "junk"), "2": verdict("2", Category.POOL)},
        {"1": verdict("1", Category.HVAC, "junk"), "2": verdict("2", Category.POOL)},
    )
    without_junk = evaluate({"1": verdict("1", Category.POOL)}, {"1": verdict("1", Category.POOL)})
    table = format_summary([("a", with_junk), ("b", without_junk)]).splitlines()
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert rows["b"][-1] == "-"
    assert rows["mean"][-1] == "1.000"  # the mean of the sets that measure it
    assert rows["mean"][1] == "1.000"  # accuracy: both sets
