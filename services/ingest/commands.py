"""``leadstream publish``: a portal export or scraper JSON lines into ``permits.raw``."""

from __future__ import annotations

import argparse
import codecs
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.topics import Topic
from services.common.config import KafkaSettings
from services.ingest.formats import FORMATS, UTF8, UTF8_BOM, count_rows, detect_encoding
from services.ingest.progress import Progress
from services.ingest.publish import publish_file
from services.ingest.values import parse_scrape_time


def register(subparsers: Any) -> None:
    publish = subparsers.add_parser(
        "publish",
        help="publish a portal export (or scraper JSON lines) to permits.raw",
        description="Map every row of FILE to a permit and publish it to permits.raw, keyed by "
        "jurisdiction:permit_number. A row that is not a valid permit (a value no parser reads, "
        "a date outside 1900-2100, a scrape time in the future…) is skipped and counted by "
        "reason in the summary; the rest of the file is published.",
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
        help="stamp permits as scraped at DATE (replaying an old export); default: now. "
        "Refused when before 1900 or more than 1 day from now (it is the permit's version)",
    )
    publish.add_argument(
        "--encoding",
        type=encoding_name,
        metavar="NAME",
        help="the file's text encoding, e.g. utf-8 or cp1252; default: detected, UTF-8 when "
        "the whole file decodes as UTF-8, else Windows-1252 (cp1252), as portals export",
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
        return parse_scrape_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def encoding_name(text: str) -> str:
    try:
        return codecs.lookup(text).name
    except LookupError as exc:
        raise argparse.ArgumentTypeError(f"unknown encoding {text!r}") from exc


def _publish(args: argparse.Namespace) -> int:
    settings = KafkaSettings()
    scraped_at = args.scraped_at or datetime.now(UTC)
    try:
        encoding = args.encoding or detect_encoding(args.file)
        if encoding not in (UTF8, UTF8_BOM):
            why = "" if args.encoding else " (it is not UTF-8)"
            print(f"leadstream publish: reading {args.file} as {encoding}{why}", file=sys.stderr)
        total = count_rows(args.file, args.format_name, args.limit, encoding=encoding)
        report = publish_file(
            args.file,
            args.format_name,
            settings,
            scraped_at=scraped_at,
            limit=args.limit,
            rate=args.rate,
            progress=Progress(total, label="publishing"),
            encoding=encoding,
        )
    except UnicodeDecodeError as exc:
        print(
            f"leadstream publish: cannot read {args.file} as {encoding}: {exc}; leave out "
            "--encoding to detect it, or name the file's encoding (e.g. --encoding cp1252)",
            file=sys.stderr,
        )
        return 2
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
