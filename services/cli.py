"""The ``leadstream`` command. Each service package registers its own subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules with a ``register(subparsers)`` function; each adds its subcommands.
COMMAND_MODULES = (
    "services.common.commands",
    "services.ingest.commands",
    "services.categorizer.commands",
    "services.enricher.commands",
    "services.scorer.commands",
    "services.exporter.commands",
    "services.exporter.dispute_commands",
    "services.dlq.commands",
    "services.demo.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadstream",
        description="Building permits in, scored contractor leads out (Kafka microservices).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
