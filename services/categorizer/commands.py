"""``leadstream categorize`` and ``leadstream eval categorize``: the rules run over a whole
export, offline, and measured against hand labels."""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.discards import DiscardedPermit
from schemas.permits import CategorizedPermit
from services.categorizer.categorize import categorize
from services.categorizer.evaluation import (
    PREDICTION_COLUMNS,
    LabelsError,
    Verdict,
    evaluate,
    format_evaluation,
    prediction_row,
    read_labels,
    verdict_of,
)
from services.categorizer.rules import DEFAULT_RULES_PATH, RulesError, load_rules
from services.ingest.commands import instant
from services.ingest.formats import FORMATS, read_permits


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "categorize",
        help="categorise every permit of an export offline and write the predictions as CSV",
    )
    _common_arguments(run, data_flag=False)
    run.add_argument("--out", type=Path, required=True, metavar="PRED.csv")
    run.set_defaults(func=_categorize)

    measure = eval_subcommands(subparsers).add_parser(
        "categorize", help="measure the categorizer against a hand-labelled file"
    )
    _common_arguments(measure, data_flag=True)
    measure.add_argument("--labels", type=Path, required=True, metavar="LABELS.csv")
    measure.add_argument(
        "--show-errors", action="store_true", help="also list every permit the rules got wrong"
    )
    measure.set_defaults(func=_evaluate)


def eval_subcommands(subparsers: Any) -> Any:
    """The ``leadstream eval`` command's own subcommands, created by whichever module is first.

    Stages that can be measured add ``leadstream eval <stage>`` here.
    """
    parser = subparsers.choices.get("eval")
    if parser is None:
        parser = subparsers.add_parser("eval", help="measure a stage against hand labels")
        parser.stage_subparsers = parser.add_subparsers(
            dest="eval_command", metavar="STAGE", required=True
        )
    return parser.stage_subparsers


def _common_arguments(parser: argparse.ArgumentParser, *, data_flag: bool) -> None:
    if data_flag:
        parser.add_argument("--data", type=Path, required=True, metavar="FILE", dest="file")
    else:
        parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument("--format", required=True, choices=sorted(FORMATS), dest="format_name")
    parser.add_argument(
        "--as-of",
        type=instant,
        metavar="DATE",
        help="judge freshness as of DATE; default: each permit's scraped_at (now for exports)",
    )
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES_PATH, help="rules file")


def _results(args: argparse.Namespace) -> Iterator[CategorizedPermit | DiscardedPermit]:
    rules = load_rules(args.rules)
    now = datetime.now(UTC)
    for permit in read_permits(args.file, args.format_name, args.as_of or now):
        yield categorize(permit, rules, args.as_of or permit.scraped_at or now)


def _categorize(args: argparse.Namespace) -> int:
    categories: Counter[str] = Counter()
    discards: Counter[str] = Counter()
    try:
        with args.out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=PREDICTION_COLUMNS)
            writer.writeheader()
            for result in _results(args):
                row = prediction_row(result)
                writer.writerow(row)
                categories[row["category"]] += 1
                discards[result.reason if isinstance(result, DiscardedPermit) else "none"] += 1
    except (RulesError, OSError, ValueError, KeyError, csv.Error) as exc:
        print(f"leadstream categorize: {exc}", file=sys.stderr)
        return 2
    total = sum(categories.values())
    print(f"{total:,} permits written to {args.out}")
    print("categories: " + ", ".join(f"{c} {n:,}" for c, n in categories.most_common()))
    print("discards:   " + ", ".join(f"{d} {n:,}" for d, n in discards.most_common()))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    try:
        labels = read_labels(args.labels)
        predictions: dict[str, Verdict] = {}
        descriptions: dict[str, str] = {}
        for result in _results(args):
            # An export can hold several scrapes of one permit; the first is measured.
            number = result.permit.permit_number
            if number in labels and number not in predictions:
                predictions[number] = verdict_of(result)
                descriptions[number] = result.permit.work_description or ""
    except (RulesError, LabelsError, OSError, ValueError, KeyError, csv.Error) as exc:
        print(f"leadstream eval categorize: {exc}", file=sys.stderr)
        return 2
    report = evaluate(labels, predictions)
    print(format_evaluation(report))
    if args.show_errors:
        print("\nwrong (labelled → predicted):")
        for gold, pred in report.errors:
            print(
                f"  {gold.permit_number}: {_short(gold)} → {_short(pred)}"
                f"  | {descriptions[gold.permit_number][:110]!r}"
                + (f"  [{gold.note}]" if gold.note else "")
            )
    return 0 if report.compared else 1


def _short(verdict: Verdict) -> str:
    commercial = " C" if verdict.is_commercial else ""
    discard = f" {verdict.discard}" if verdict.discard != "none" else ""
    return f"{verdict.category.value}{commercial}{discard}"
