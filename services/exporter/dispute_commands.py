"""``leadstream disputes list|approve|deny``: the operators' side of buyers' disputes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from services.exporter.dispute_rules import DisputeStatus
from services.exporter.settings import ExporterSettings, exit_on_invalid_settings

if TYPE_CHECKING:
    from services.exporter.disputes import Dispute

COLUMNS = ("id", "buyer", "lead", "reason", "status", "age", "price")


def register(subparsers: Any) -> None:
    disputes = subparsers.add_parser(
        "disputes", help="buyers' disputes of bought leads: the queue, approve (credit), deny"
    )
    sub = disputes.add_subparsers(dest="disputes_command", required=True)

    listing = sub.add_parser("list", help="disputes, oldest first")
    listing.add_argument(
        "--status",
        choices=[status.value for status in DisputeStatus],
        help="only disputes in this state (e.g. open: the queue)",
    )
    listing.set_defaults(func=_list)

    approve = sub.add_parser(
        "approve", help="approve an open dispute: credits the buyer the price it was charged"
    )
    approve.add_argument("id", type=_dispute_id, help="the dispute's id (disputes list)")
    approve.add_argument("--note", help="why, for the buyer")
    approve.set_defaults(func=_decide, approve=True)

    deny = sub.add_parser("deny", help="deny an open dispute (nothing is credited)")
    deny.add_argument("id", type=_dispute_id, help="the dispute's id (disputes list)")
    deny.add_argument("--note", required=True, help="why, for the buyer (required)")
    deny.set_defaults(func=_decide, approve=False)


def format_table(disputes: Sequence[Dispute], now: datetime) -> list[str]:
    rows = [COLUMNS] + [
        (
            str(d.id),
            d.buyer_name,
            str(d.lead_id),
            d.reason.value,
            d.status.value,
            format_age(now - d.created_at),
            f"{d.price:.2f}",
        )
        for d in disputes
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def format_age(age: timedelta) -> str:
    """``3d 4h``, ``5h 12m``, ``12m``: how long the dispute has waited."""
    minutes = max(int(age.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def _dispute_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a dispute id is a positive number, not {text!r}")
    return value


def _list(args: argparse.Namespace) -> int:
    from services.exporter.disputes import list_disputes

    status = None if args.status is None else DisputeStatus(args.status)
    with exit_on_invalid_settings():
        settings = ExporterSettings()
    found = list_disputes(_engine(settings), status=status)
    for line in format_table(found, datetime.now(UTC)):
        print(line)
    print(f"{len(found)} dispute(s)")
    return 0


def _decide(args: argparse.Namespace) -> int:
    from services.exporter.disputes import (
        DisputeConflict,
        DisputeNotFound,
        NoteRequired,
        decide_dispute,
    )

    with exit_on_invalid_settings():
        settings = ExporterSettings()
    try:
        dispute = decide_dispute(
            _engine(settings), args.id, approve=args.approve, note=args.note, now=datetime.now(UTC)
        )
    except (DisputeNotFound, DisputeConflict, NoteRequired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.approve:
        print(
            f"dispute {dispute.id} approved: {dispute.price:.2f} credited to "
            f"{dispute.buyer_name!r} (lead {dispute.lead_id})"
        )
    else:
        print(f"dispute {dispute.id} denied: nothing credited to {dispute.buyer_name!r}")
    return 0


def _engine(settings: ExporterSettings) -> Engine:
    from services.common.commands import database_for_command

    return database_for_command(settings.database_url)
