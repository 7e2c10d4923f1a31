"""``leadstream dlq summary`` and ``leadstream dlq replay``."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from services.common.config import DatabaseSettings, KafkaSettings
from services.common.times import parse_since

if TYPE_CHECKING:
    from services.dlq.queries import DeadLetterFilter

REPLAY_DESCRIPTION = """\
Re-publish dead letters, once their cause is fixed, to the topic they were first read from:
the original bytes with the original key. Only dead letters not replayed yet are considered;
each one the broker acknowledged is marked replayed. A truncated original, or one from a topic
outside the pipeline, is skipped with the reason. Give at least one filter, or --all: a bare
`replay` would send the whole DLQ back. --dry-run needs neither and changes nothing.
Exit status 1 when a delivery failed (those dead letters stay not replayed)."""


def register(subparsers: Any) -> None:
    dlq = subparsers.add_parser(
        "dlq", help="dead letters: what failed, and replaying it once the cause is fixed"
    )
    dlq_sub = dlq.add_subparsers(dest="dlq_command", required=True)

    summary = dlq_sub.add_parser(
        "summary", help="dead letters waiting for replay, by stage, source topic and error"
    )
    _add_window(summary)
    summary.set_defaults(func=_summary)

    replay = dlq_sub.add_parser(
        "replay",
        help="re-publish dead letters to their source topics",
        description=REPLAY_DESCRIPTION,
    )
    replay.add_argument("--stage", help="the stage that rejected them, e.g. categorizer")
    replay.add_argument(
        "--source-topic", metavar="TOPIC", help="the topic they were read from, e.g. permits.raw"
    )
    replay.add_argument("--key", help='one permit key, e.g. "austin_tx:2026-000123 BP"')
    replay.add_argument(
        "--error-contains", metavar="TEXT", help="only errors containing TEXT (any case)"
    )
    _add_window(replay)
    replay.add_argument(
        "--limit", type=_positive_int, metavar="N", help="at most N dead letters, oldest first"
    )
    replay.add_argument("--all", action="store_true", help="no filter: every waiting dead letter")
    replay.add_argument(
        "--dry-run", action="store_true", help="print what would be replayed; change nothing"
    )
    replay.set_defaults(func=_replay)


def _add_window(parser: argparse.ArgumentParser) -> None:
    window = parser.add_mutually_exclusive_group()
    window.add_argument(
        "--since",
        type=parse_since,
        metavar="WHEN",
        help="failed since: ISO date/time (no zone = UTC), or e.g. 24h, 7d",
    )
    window.add_argument(
        "--hours", type=_positive_int, metavar="N", help="failed in the last N hours"
    )


def _summary(args: argparse.Namespace) -> int:
    from services.dlq.queries import error_counts, replayed_count
    from services.dlq.summary import format_summary, group_failures

    failed_since = _failed_since(args)
    with _engine(DatabaseSettings()).connect() as conn:
        kinds = group_failures(error_counts(conn, failed_since))
        replayed = replayed_count(conn, failed_since)
    print(format_summary(kinds, replayed, failed_since))
    return 0


def _replay(args: argparse.Namespace) -> int:
    from services.dlq.queries import DeadLetterFilter

    selection = DeadLetterFilter(
        stage=args.stage,
        source_topic=args.source_topic,
        key=args.key,
        error_contains=args.error_contains,
        failed_since=_failed_since(args),
    )
    if selection.matches_everything and not args.all and not args.dry_run:
        print(
            "leadstream dlq replay: refusing to replay the whole DLQ without --all; give a "
            "filter (--stage, --source-topic, --key, --error-contains, --since, --hours), "
            "or --all, and try --dry-run first",
            file=sys.stderr,
        )
        return 2
    database = DatabaseSettings()
    if args.dry_run:
        return _dry_run(database, selection, args.limit)
    return _replay_for_real(database, KafkaSettings(), selection, args.limit)


def _dry_run(database: DatabaseSettings, selection: DeadLetterFilter, limit: int | None) -> int:
    from services.dlq.plan import Skip
    from services.dlq.replay import preview
    from services.dlq.summary import error_class

    would_replay = skipped = 0
    for letter, plan in preview(_engine(database), selection, limit=limit):
        if isinstance(plan, Skip):
            skipped += 1
            print(f"skip    #{letter.id}  {_key(letter.key)}: {plan.reason}")
        else:
            would_replay += 1
            print(
                f"replay  #{letter.id}  {_key(letter.key)} → {plan.topic} ({len(plan.value):,} "
                f"bytes), {letter.stage}: {error_class(letter.error)}"
            )
    print(f"dry run: {would_replay:,} would be replayed, {skipped:,} skipped; nothing changed")
    return 0


def _replay_for_real(
    database: DatabaseSettings, kafka: KafkaSettings, selection: DeadLetterFilter, limit: int | None
) -> int:
    from services.dlq.replay import replay

    tally = replay(_engine(database), kafka, selection, limit=limit)
    print(f"replayed {tally.replayed:,} (re-published and marked replayed)")
    for label, reasons in (("skipped", tally.skipped), ("failed", tally.failed)):
        print(f"{label} {reasons.total():,}" + (":" if reasons else ""))
        for reason, count in reasons.most_common():
            print(f"  {count:>6,}  {reason}")
    return 1 if tally.failed else 0


def _key(key: str | None) -> str:
    return f"key {key}" if key is not None else "no key"


def _failed_since(args: argparse.Namespace) -> datetime | None:
    if args.hours is not None:
        return datetime.now(UTC) - timedelta(hours=args.hours)
    since: datetime | None = args.since
    return since


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _engine(database: DatabaseSettings) -> Engine:
    from services.common.commands import database_for_command

    return database_for_command(database.database_url)
