"""``leadstream builders list|add|allow|learn``: the operators' view of the builder registry."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.categorizer.builders import (
    VERDICT_ALLOWED,
    VERDICT_BUILDER,
    BuilderSettings,
)
from services.categorizer.categorize import observations_of
from services.categorizer.registry import UnusableName, listing, record, set_override
from services.categorizer.rule_book import DEFAULT_RULES_PATH, RulesError, load_rules
from services.common.config import DatabaseSettings
from services.common.production_builders import built_in_builder
from services.ingest.formats import FORMATS, read_permits


def register(subparsers: Any) -> None:
    builders = subparsers.add_parser(
        "builders", help="the production-builder registry learned from the permits"
    )
    sub = builders.add_subparsers(dest="builders_command", required=True)

    listed = sub.add_parser("list", help="the names the registry flags, busiest first")
    listed.add_argument("--jurisdiction", metavar="J", help="only this jurisdiction")
    listed.add_argument(
        "--min-new-homes",
        type=int,
        metavar="N",
        help="list the firms at N or more instead of the threshold (1: every firm, to see the "
        "distribution); the categorizer keeps its own threshold",
    )
    listed.set_defaults(func=_list)

    add = sub.add_parser("add", help="flag a name as a production builder everywhere")
    add.add_argument("name", metavar="NAME")
    add.set_defaults(func=_override, verdict=VERDICT_BUILDER)

    allow = sub.add_parser(
        "allow", help="never flag a name by its counts or its shape (a custom builder)"
    )
    allow.add_argument("name", metavar="NAME")
    allow.set_defaults(func=_override, verdict=VERDICT_ALLOWED)

    learn = sub.add_parser(
        "learn", help="seed the registry from a historical export (a replay adds nothing)"
    )
    learn.add_argument("file", type=Path, metavar="FILE")
    learn.add_argument("--format", required=True, choices=sorted(FORMATS), dest="format_name")
    learn.add_argument("--rules", type=Path, default=DEFAULT_RULES_PATH, help="rules file")
    learn.set_defaults(func=_learn)


def _engine(database: DatabaseSettings) -> Any:
    from services.common.commands import database_for_command

    return database_for_command(database.database_url)


def _list(args: argparse.Namespace) -> int:
    settings = BuilderSettings()
    if args.min_new_homes is not None:
        settings = settings.model_copy(update={"min_new_homes": max(1, args.min_new_homes)})
    with _engine(DatabaseSettings()).connect() as conn:
        rows = listing(conn, load_rules(), settings, args.jurisdiction)
    print(
        f"{len(rows)} production builders (at least {settings.min_new_homes} new-home permits "
        f"in one jurisdiction within {settings.window_days} days, or added by an operator)"
    )
    if rows:
        print(f"{'jurisdiction':<16}{'peak':>6}  {'first':<10}  {'last':<10}  name  [source]")
    for row in rows:
        first = row.first_seen.isoformat() if row.first_seen else "-"
        last = row.last_seen.isoformat() if row.last_seen else "-"
        source = "" if row.source == "counts" else f"  [{row.source}]"
        print(f"{row.jurisdiction:<16}{row.peak:>6}  {first:<10}  {last:<10}  {row.name}{source}")
    return 0


def _override(args: argparse.Namespace) -> int:
    settings = BuilderSettings()
    try:
        with _engine(DatabaseSettings()).begin() as conn:
            name = set_override(conn, args.name, args.verdict)
    except UnusableName as exc:
        print(f"leadstream builders {args.builders_command}: {exc}", file=sys.stderr)
        return 2
    if args.verdict == VERDICT_BUILDER:
        print(f"{name!r} is a production builder in every jurisdiction")
    else:
        print(f"{name!r} is not flagged by its counts or its name's shape any more")
        listed = built_in_builder(load_rules().builder_names, args.name)
        if listed is not None and listed.listed:
            print(
                f"note: {listed.phrase!r} is on the rules' own list of builders, which stays a "
                "floor: permits naming it are still discarded (change rules.yaml for that)"
            )
    print(f"running categorizers apply it within {settings.refresh_s:g} s")
    return 0


def _learn(args: argparse.Namespace) -> int:
    settings = BuilderSettings()
    try:
        rules = load_rules(args.rules)
        permits = read_permits(args.file, args.format_name, datetime.now(UTC))
        observations = list(observations_of(permits, rules))
    except (RulesError, OSError, ValueError, KeyError) as exc:
        print(f"leadstream builders learn: {exc}", file=sys.stderr)
        return 2
    with _engine(DatabaseSettings()).begin() as conn:
        inserted = record(conn, observations)
        flagged = listing(conn, rules, settings, None)
    places = Counter(item.jurisdiction for item in observations)
    print(
        f"{len(observations):,} new-home permits by a named firm in {args.file.name} "
        f"({', '.join(f'{place} {n:,}' for place, n in places.most_common())}); "
        f"{len(inserted):,} new to the registry, {len(observations) - len(inserted):,} "
        "already known (learned before, or the same permit again in the file)"
    )
    here = [row for row in flagged if row.jurisdiction in places]
    print(
        f"the registry now flags {len(here)} names there (at least {settings.min_new_homes} "
        f"within {settings.window_days} days): `leadstream builders list` shows them"
    )
    return 0
