"""CLI: ``python -m localinfra up|down|env``.

stdout carries only ``KAFKA_BOOTSTRAP_SERVERS=...`` and ``DATABASE_URL=...`` so that
``eval "$(python -m localinfra up)"`` or ``>> $GITHUB_ENV``-style use works; everything
else goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from localinfra import kafka, postgres
from localinfra._util import InfraError, log


def _print_env(bootstrap: str, database_url: str) -> None:
    print(f"KAFKA_BOOTSTRAP_SERVERS={bootstrap}")
    print(f"DATABASE_URL={database_url}", flush=True)


def cmd_up() -> int:
    # Kafka start-up is mostly JVM waiting; overlapping it with initdb/pg start saves seconds.
    with ThreadPoolExecutor(max_workers=2) as pool:
        bootstrap = pool.submit(kafka.ensure_kafka)
        database = pool.submit(postgres.ensure_postgres)
        _print_env(bootstrap.result(), database.result())
    return 0


def cmd_down() -> int:
    """Stop what localinfra started (external servers named by env vars are never touched)."""
    stopped = kafka.stop_all_kafka(graceful=True)
    postgres.stop_postgres(mode="fast")
    log(f"down: {stopped} kafka process(es) stopped; postgres stopped")
    return 0


def cmd_env() -> int:
    """Print the lines for what is available now; start nothing. Exit 1 if either is down."""
    bootstrap = kafka.kafka_bootstrap()
    database_url = postgres.postgres_url()
    if bootstrap is not None:
        print(f"KAFKA_BOOTSTRAP_SERVERS={bootstrap}")
    else:
        log("kafka is not running (python -m localinfra up)")
    if database_url is not None:
        print(f"DATABASE_URL={database_url}")
    else:
        log("postgres is not running (python -m localinfra up)")
    return 0 if bootstrap is not None and database_url is not None else 1


COMMANDS: dict[str, tuple[Callable[[], int], str]] = {
    "up": (cmd_up, "start Kafka and PostgreSQL if needed; print the env lines"),
    "down": (cmd_down, "stop them (graceful, then kill)"),
    "env": (cmd_env, "print the env lines of what runs now; start nothing"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localinfra", description="Local Kafka + PostgreSQL for leadstream."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text)
    args = parser.parse_args(argv)
    handler, _ = COMMANDS[args.command]
    try:
        return handler()
    except InfraError as exc:
        print(f"localinfra {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
