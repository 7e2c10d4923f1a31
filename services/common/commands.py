"""Operator commands of the shared runtime: topics, migrations, running a service."""

from __future__ import annotations

import argparse
import importlib
from typing import TYPE_CHECKING, Any

from services.common.config import DatabaseSettings, KafkaSettings

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Service name → module with a ``main()`` that runs it.
SERVICES = {
    "categorizer": "services.categorizer.service",
    "enricher": "services.enricher.service",
    "scorer": "services.scorer.service",
    "store": "services.store.service",
    "notifier": "services.notifier.service",
    "exporter": "services.exporter.service",
}


def database_for_command(url: str) -> Engine:
    """An engine on a database at this code's schema, or exit with one line: a command fails
    fast where a service would wait for the database."""
    from services.common.db.engine import DatabaseNotReady, make_engine, require_current_schema

    engine = make_engine(url, pool_size=1)
    try:
        require_current_schema(engine, wait_s=0)
    except DatabaseNotReady as exc:
        raise SystemExit(f"leadstream: {exc}") from None
    return engine


def register(subparsers: Any) -> None:
    topics = subparsers.add_parser("topics", help="Kafka topic administration")
    topics_sub = topics.add_subparsers(dest="topics_command", required=True)
    create = topics_sub.add_parser("create", help="create every pipeline topic if missing")
    create.add_argument("--partitions", type=int, default=None, help="default: settings (12)")
    create.set_defaults(func=_topics_create)

    db = subparsers.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply migrations up to the latest")
    upgrade.add_argument("--revision", default="head")
    upgrade.set_defaults(func=_db_upgrade)
    current = db_sub.add_parser("current", help="print the schema revision of the database")
    current.set_defaults(func=_db_current)

    run = subparsers.add_parser("run", help="run one service in the foreground")
    run.add_argument("service", choices=sorted(SERVICES))
    run.set_defaults(func=_run)


def _topics_create(args: argparse.Namespace) -> int:
    from services.common.kafka import create_topics

    for topic, state in create_topics(KafkaSettings(), partitions=args.partitions).items():
        print(f"{topic}\t{state}")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from services.common.db.engine import upgrade

    url = DatabaseSettings().database_url
    upgrade(url, args.revision)
    print(f"database upgraded to {args.revision}")
    return 0


def _db_current(args: argparse.Namespace) -> int:
    from services.common.db.engine import current_revision, head_revision, make_engine

    current = current_revision(make_engine(DatabaseSettings().database_url))
    print(f"current: {current or 'none'}\nhead:    {head_revision()}")
    return 0


def _run(args: argparse.Namespace) -> int:
    module = importlib.import_module(SERVICES[args.service])
    module.main()
    return 0
