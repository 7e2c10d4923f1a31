"""``leadstream categorize`` and ``leadstream eval categorize``: the rules run over a whole
export, offline, and measured against hand labels."""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.discards import DiscardedPermit
from schemas.permits import CategorizedPermit
from services.categorizer import builder_commands
from services.categorizer.builders import BuilderSettings, learn
from services.categorizer.categorize import categorize, observations_of
from services.categorizer.evaluation import (
    PREDICTION_COLUMNS,
    Evaluation,
    LabelsError,
    Verdict,
    evaluate,
    format_evaluation,
    format_summary,
    prediction_row,
    read_labels,
    verdict_of,
)
from services.categorizer.rule_book import DEFAULT_RULES_PATH, RulesError, load_rules
from services.ingest.commands import instant
from services.ingest.formats import FORMATS, read_permits


def register(subparsers: Any) -> None:
    builder_commands.register(subparsers)
    run = subparsers.add_parser(
        "categorize",
        help="categorise every permit of an export offline and write the predictions as CSV",
    )
    _common_arguments(run, data_flag=False)
    run.add_argument("--out", type=Path, required=True, metavar="PRED.csv")
    run.set_defaults(func=_categorize)

    measure = eval_subcommands(subparsers).add_parser(
        "categorize",
        help="measure the categorizer against one or more hand-labelled files",
        description="Measure the rules on a labelled set (--labels, --data, --format) or on "
        "several (--set LABELS DATA FORMAT, repeatable, with or without the first): a table "
        "per set, then one row per set and the mean over the sets.",
    )
    _common_arguments(measure, data_flag=True)
    measure.add_argument("--labels", type=Path, metavar="LABELS.csv")
    measure.add_argument(
        "--set",
        nargs=3,
        action="append",
        default=[],
        dest="sets",
        metavar=("LABELS.csv", "FILE", "FORMAT"),
        help="another labelled set, its export and the export's format; repeatable",
    )
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
    # ``eval categorize`` may name its sets with --set instead, so its three flags are optional.
    if data_flag:
        parser.add_argument("--data", type=Path, metavar="FILE", dest="file")
    else:
        parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument(
        "--format", required=not data_flag, choices=sorted(FORMATS), dest="format_name"
    )
    parser.add_argument(
        "--as-of",
        type=instant,
        metavar="DATE",
        help="judge freshness as of DATE; default: each permit's scraped_at (now for exports)",
    )
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES_PATH, help="rules file")
    parser.add_argument(
        "--no-registry",
        action="store_true",
        help="the rules' builder list only: do not learn the builder registry from the file",
    )


def _results(
    args: argparse.Namespace, builders: BuilderSettings | None, file: Path, format_name: str
) -> Iterator[CategorizedPermit | DiscardedPermit]:
    """Every permit of the file categorised, as a backfill would: the builder registry is
    learned from the whole file first (``builders`` None: --no-registry, it is not)."""
    rules = load_rules(args.rules)
    now = datetime.now(UTC)
    scraped_at = args.as_of or now
    known = None
    if builders is not None:
        permits = read_permits(file, format_name, scraped_at)
        known = learn(observations_of(permits, rules), builders)
    for permit in read_permits(file, format_name, scraped_at):
        yield categorize(permit, rules, args.as_of or permit.scraped_at or now, known)


def _categorize(args: argparse.Namespace) -> int:
    builders = None if args.no_registry else BuilderSettings()
    categories: Counter[str] = Counter()
    discards: Counter[str] = Counter()
    try:
        with args.out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=PREDICTION_COLUMNS)
            writer.writeheader()
            for result in _results(args, builders, args.file, args.format_name):
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


@dataclass(frozen=True)
class LabelledSet:
    labels: Path
    data: Path
    format_name: str

    @property
    def name(self) -> str:
        return self.labels.stem


def _labelled_sets(args: argparse.Namespace) -> list[LabelledSet]:
    """The sets to measure, in the order given: the single-set flags first, then each --set."""
    single = (args.labels, args.file, args.format_name)
    if any(value is not None for value in single) and None in single:
        raise UsageError("--labels, --data and --format go together (or use --set)")
    sets = [LabelledSet(*single)] if args.labels is not None else []
    for labels, data, format_name in args.sets:
        if format_name not in FORMATS:
            raise UsageError(
                f"--set {labels} {data} {format_name}: format must be one of "
                + ", ".join(sorted(FORMATS))
            )
        sets.append(LabelledSet(Path(labels), Path(data), format_name))
    if not sets:
        raise UsageError("name a labelled set: --labels, --data and --format, or --set")
    return sets


class UsageError(ValueError):
    pass


def _evaluate(args: argparse.Namespace) -> int:
    try:
        sets = _labelled_sets(args)
    except UsageError as exc:
        print(f"leadstream eval categorize: {exc}", file=sys.stderr)
        return 2
    builders = None if args.no_registry else BuilderSettings()
    reports: list[tuple[str, Evaluation]] = []
    for index, labelled in enumerate(sets):
        if len(sets) > 1:
            print(("\n" if index else "") + f"== {labelled.name} ({labelled.data.name})")
        code = _evaluate_set(args, builders, labelled, reports)
        if code == 2:
            return code
    if len(sets) > 1:
        print(f"\nover {len(sets)} sets (mean: each set counts once)")
        print(format_summary(reports))
    return 0 if all(report.compared for _, report in reports) else 1


def _evaluate_set(
    args: argparse.Namespace,
    builders: BuilderSettings | None,
    labelled: LabelledSet,
    reports: list[tuple[str, Evaluation]],
) -> int:
    try:
        labels = read_labels(labelled.labels)
        predictions: dict[str, Verdict] = {}
        descriptions: dict[str, str] = {}
        for result in _results(args, builders, labelled.data, labelled.format_name):
            # An export can hold several scrapes of one permit; the first is measured.
            number = result.permit.permit_number
            if number in labels and number not in predictions:
                predictions[number] = verdict_of(result)
                descriptions[number] = result.permit.work_description or ""
    except (RulesError, LabelsError, OSError, ValueError, KeyError, csv.Error) as exc:
        print(f"leadstream eval categorize: {exc}", file=sys.stderr)
        return 2
    report = evaluate(labels, predictions)
    reports.append((labelled.name, report))
    print(format_evaluation(report))
    if args.show_errors:
        print("\nwrong (labelled → predicted):")
        for gold, pred in report.errors:
            print(
                f"  {gold.permit_number}: {_short(gold)} → {_short(pred)}"
                f"  | {descriptions[gold.permit_number][:110]!r}"
                + (f"  [{gold.note}]" if gold.note else "")
            )
    return 0


def _short(verdict: Verdict) -> str:
    commercial = " C" if verdict.is_commercial else ""
    discard = f" {verdict.discard}" if verdict.discard != "none" else ""
    return f"{verdict.category.value}{commercial}{discard}"
