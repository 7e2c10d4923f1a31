"""Exporter commands: ``leadstream export`` and ``leadstream buyers add|list|deactivate``
(``leadstream prices`` is in ``price_commands``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine

from schemas.taxonomy import Tier, TradeGroup
from services.common.times import parse_since
from services.exporter import price_commands
from services.exporter.settings import ExporterSettings, exit_on_invalid_settings

E = TypeVar("E", bound=StrEnum)


def register(subparsers: Any) -> None:
    export = subparsers.add_parser(
        "export",
        help="write the tier files (the leads for sale now) and mark new leads exported",
    )
    export.add_argument("--out", type=Path, required=True, help="directory to write into")
    export.add_argument(
        "--since",
        type=parse_since,
        default=None,
        help="only leads scored since then: ISO date/time (no zone = UTC) or e.g. 24h, 7d",
    )
    export.set_defaults(func=_export)

    buyers = subparsers.add_parser("buyers", help="buyer accounts and their API keys")
    buyers_sub = buyers.add_subparsers(dest="buyers_command", required=True)
    add = buyers_sub.add_parser("add", help="create a buyer; prints its API key once")
    add.add_argument("name")
    add.add_argument(
        "--trade-groups",
        nargs="+",
        required=True,
        type=_enum_list(TradeGroup, str.lower),
        help="e.g. luxury_outdoor home_exterior (or comma-separated)",
    )
    add.add_argument(
        "--tiers", nargs="+", required=True, type=_enum_list(Tier, str.upper), help="e.g. A B"
    )
    add.add_argument(
        "--counties", nargs="+", default=None, help="restrict to these counties (default: all)"
    )
    add.add_argument(
        "--plan",
        choices=("marketplace", "subscription"),
        default="marketplace",
        help="marketplace (default): previews until bought; subscription: every lead in full",
    )
    add.set_defaults(func=_buyers_add)
    listing = buyers_sub.add_parser("list", help="list buyers and what they may see")
    listing.set_defaults(func=_buyers_list)
    deactivate = buyers_sub.add_parser("deactivate", help="revoke a buyer's API key")
    deactivate.add_argument("name")
    deactivate.set_defaults(func=_buyers_deactivate)
    price_commands.register(subparsers)


def _enum_list(enum: type[E], normalise: Callable[[str], str]) -> Callable[[str], list[E]]:
    """An argparse type accepting one value or a comma-separated list of enum values."""

    def parse(text: str) -> list[E]:
        values = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            try:
                values.append(enum(normalise(item)))
            except ValueError:
                choices = ", ".join(member.value for member in enum)
                raise argparse.ArgumentTypeError(
                    f"unknown {enum.__name__} {item!r} (choose from {choices})"
                ) from None
        return values

    return parse


def _engine(settings: ExporterSettings) -> Engine:
    from services.common.commands import database_for_command

    return database_for_command(settings.database_url)


def _export(args: argparse.Namespace) -> int:
    from services.exporter.tier_files import export_tier_files

    with exit_on_invalid_settings():
        settings = ExporterSettings()
    report = export_tier_files(
        _engine(settings),
        args.out,
        max_buyers_per_lead=settings.max_buyers_per_lead,
        now=datetime.now(UTC),
        since=args.since,
    )
    for path, rows in sorted(report.files.items()):
        print(f"{args.out / path}\t{rows}")
    for path in report.removed:
        print(f"{args.out / path}\tremoved (no lead left)")
    print(
        f"{sum(report.files.values())} rows in {len(report.files)} files; "
        f"{report.marked_exported} leads moved from new to exported"
    )
    return 0


def _buyers_add(args: argparse.Namespace) -> int:
    from services.exporter.buyers import BuyerExists, BuyerPlan, create_buyer

    trade_groups = [group for groups in args.trade_groups for group in groups]
    tiers = [tier for group in args.tiers for tier in group]
    if not trade_groups or not tiers:
        print("error: give at least one trade group and one tier", file=sys.stderr)
        return 2
    with exit_on_invalid_settings():
        settings = ExporterSettings()
    try:
        buyer, key = create_buyer(
            _engine(settings), args.name, trade_groups, tiers, args.counties, BuyerPlan(args.plan)
        )
    except BuyerExists as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    entitled = buyer.entitlements
    counties = "all" if entitled.counties is None else ", ".join(sorted(entitled.counties))
    print(f"buyer {buyer.name!r} created (id {buyer.id})")
    print(f"trade groups: {', '.join(sorted(entitled.trade_groups))}")
    print(f"tiers: {', '.join(sorted(entitled.tiers))}; counties: {counties}")
    print(f"plan: {buyer.plan}")
    print("API key (shown only now; send it in the X-API-Key header):")
    print(key)
    return 0


def _buyers_list(args: argparse.Namespace) -> int:
    from services.exporter.buyers import list_buyers

    with exit_on_invalid_settings():
        settings = ExporterSettings()
    for row in list_buyers(_engine(settings)):
        counties = "all" if row.counties is None else ",".join(row.counties)
        state = "active" if row.active else "deactivated"
        print(
            f"{row.name}\t{state}\ttrade_groups={','.join(row.trade_groups)}\t"
            f"tiers={','.join(row.tiers)}\tcounties={counties}\tplan={row.plan}"
        )
    return 0


def _buyers_deactivate(args: argparse.Namespace) -> int:
    from services.exporter.buyers import deactivate_buyer

    with exit_on_invalid_settings():
        settings = ExporterSettings()
    if not deactivate_buyer(_engine(settings), args.name):
        print(f"error: no buyer named {args.name!r}", file=sys.stderr)
        return 1
    print(f"buyer {args.name!r} deactivated: its key no longer works")
    return 0
