"""``leadstream prices set|list|delete``: the operators' price book (see ``prices``)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from schemas.taxonomy import Category, Tier, TradeGroup
from services.exporter.records import SELLABLE_TIERS
from services.exporter.settings import ExporterSettings, exit_on_invalid_settings

MAX_PRICE = Decimal("99999999.99")  # price_book.price is NUMERIC(10, 2)


def register(subparsers: Any) -> None:
    prices = subparsers.add_parser("prices", help="the price book: what leads cost")
    prices_sub = prices.add_subparsers(dest="prices_command", required=True)
    set_ = prices_sub.add_parser(
        "set",
        help="set the price of a scope (most specific wins: category+county > category > "
        "county > trade group and tier)",
    )
    _scope_arguments(set_)
    set_.add_argument("--price", type=parse_price, required=True, help="in dollars, e.g. 45.00")
    set_.set_defaults(func=_prices_set)
    listing = prices_sub.add_parser("list", help="list the price book")
    listing.set_defaults(func=_prices_list)
    delete = prices_sub.add_parser("delete", help="remove the price of exactly this scope")
    _scope_arguments(delete)
    delete.set_defaults(func=_prices_delete)


def _scope_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trade-group",
        type=_choice(TradeGroup, str.lower),
        required=True,
        help="e.g. luxury_outdoor",
    )
    parser.add_argument(
        "--tier",
        type=_choice(Tier, str.upper),
        required=True,
        help="A, B or C",
    )
    parser.add_argument(
        "--category", type=_choice(Category, str.lower), default=None, help="default: any"
    )
    parser.add_argument("--county", default=None, help="default: any (case does not matter)")


def parse_price(text: str) -> Decimal:
    try:
        price = Decimal(text.strip().lstrip("$"))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a price") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise argparse.ArgumentTypeError(f"a price is between 0 and {MAX_PRICE}, got {text!r}")
    if price != price.quantize(Decimal("0.01")):
        raise argparse.ArgumentTypeError(f"a price has at most 2 decimal places, got {text!r}")
    return price.quantize(Decimal("0.01"))


def _choice(enum: Any, normalise: Any) -> Any:
    def parse(text: str) -> str:
        value = normalise(text.strip())
        allowed = [member.value for member in enum if enum is not Tier or member in SELLABLE_TIERS]
        if value not in allowed:
            raise argparse.ArgumentTypeError(
                f"unknown {enum.__name__} {text!r} (choose from {', '.join(allowed)})"
            )
        return str(value)

    return parse


def _engine(settings: ExporterSettings) -> Any:
    from services.common.commands import database_for_command

    return database_for_command(settings.database_url)


def _describe(trade_group: str, tier: str, category: str | None, county: str | None) -> str:
    return (
        f"trade_group={trade_group}\ttier={tier}\tcategory={category or '*'}\t"
        f"county={county or '*'}"
    )


def _prices_set(args: argparse.Namespace) -> int:
    from services.exporter.prices import set_price

    with exit_on_invalid_settings():
        settings = ExporterSettings()
    entry = set_price(
        _engine(settings),
        trade_group=args.trade_group,
        tier=args.tier,
        category=args.category,
        county=args.county,
        price=args.price,
        now=datetime.now(UTC),
    )
    scope = _describe(entry.trade_group, entry.tier, entry.category, entry.county)
    print(f"{scope}\tprice={entry.price}")
    return 0


def _prices_list(args: argparse.Namespace) -> int:
    from services.exporter.prices import list_prices

    with exit_on_invalid_settings():
        settings = ExporterSettings()
    for entry in list_prices(_engine(settings)):
        scope = _describe(entry.trade_group, entry.tier, entry.category, entry.county)
        print(f"{scope}\tprice={entry.price}")
    return 0


def _prices_delete(args: argparse.Namespace) -> int:
    from services.exporter.prices import delete_price

    with exit_on_invalid_settings():
        settings = ExporterSettings()
    if not delete_price(
        _engine(settings),
        trade_group=args.trade_group,
        tier=args.tier,
        category=args.category,
        county=args.county,
    ):
        scope = _describe(args.trade_group, args.tier, args.category, args.county)
        print(f"error: no price for {scope}", file=sys.stderr)
        return 1
    print("deleted")
    return 0
