"""``leadstream publish``: a portal export or scraper JSON lines into ``permits.raw``."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.topics import Topic
from services.common.config import KafkaSettings
from services.ingest.formats import FORMATS, count_rows
from services.ingest.progress import Progress
from services.ingest.publish import publish_file
from services.ingest.values import parse_instant


def register(subparsers: Any) -> None:
    publish = subparsers.add_parser(
        "publish",
        help="publish a portal export (or scraper JSON lines) to permits.raw",
        description="Map every row of FILE to a permit and publish it to permits.raw, keyed by "
        "jurisdiction:permit_number. Rows that are not valid permits are counted by reason.",
    )
    publish.add_argument("file", type=Path, metavar="FILE")
    publish.add_argument("--format", required=True, choices=sorted(FORMATS), dest="format_name")
    publish.add_argument(
        "--limit", type=positive(int), metavar="N", help="read only the first N rows"
    )
    publish.add_argument(
        "--rate", type=positive(float), metavar="R", help="publish at most R permits/s"
    )
    publish.add_argument(
        "--scraped-at",
        type=instant,
        metavar="DATE",
        help="stamp permits as scraped at DATE (replaying an old export); default: now",
    )
    publish.set_defaults(func=_publish)


def positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _publish(args: argparse.Namespace) -> int:
    settings = KafkaSettings()
    scraped_at = args.scraped_at or datetime.now(UTC)
    try:
        total = count_rows(args.file, args.format_name, args.limit)
        report = publish_file(
            args.file,
            args.format_name,
            settings,
            scraped_at=scraped_at,
            limit=args.limit,
            rate=args.rate,
            progress=Progress(total, label="publishing"),
        )
    except (OSError, ValueError, KeyError, csv.Error) as exc:
        print(
            f"leadstream publish: cannot read {args.file} as {args.format_name}: {exc}",
            file=sys.stderr,
        )
        return 2
    print(report.summary(settings.topic(Topic.RAW.value)))
    if report.delivery_failures:
        return 1
    if report.rows and not report.published:
        print("leadstream publish: no row was a valid permit; is --format right?", file=sys.stderr)
        return 1
    return 0
