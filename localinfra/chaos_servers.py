"""The servers of the chaos harness's own, which its faults may stop and start: the machine's
broker and PostgreSQL serve everything else on it."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from localinfra import postgres
from localinfra.kafka_cluster import KafkaCluster
from localinfra.kafka_node import KafkaNode


class PrivatePostgres:
    """A PostgreSQL server of the harness's own (own data dir and port) that it may stop and
    start: localinfra's server is shared by everything else running on this machine."""

    _env_lock = threading.Lock()

    def __init__(self, run_dir: Path, port: int) -> None:
        self.run_dir = run_dir
        self.port = port

    @contextlib.contextmanager
    def _selected(self) -> Iterator[None]:
        # localinfra.postgres reads its location from the environment on every call.
        wanted = {"LEADSTREAM_RUN_DIR": str(self.run_dir), "LEADSTREAM_PG_PORT": str(self.port)}
        with self._env_lock:
            saved = {name: os.environ.get(name) for name in [*wanted, "DATABASE_URL"]}
            os.environ.update(wanted)
            os.environ.pop("DATABASE_URL", None)
            try:
                yield
            finally:
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value

    def start(self) -> str:
        with self._selected():
            return postgres.start_postgres()

    def stop(self) -> None:
        with self._selected():
            postgres.stop_postgres(mode="fast")

    def create_database(self, name: str) -> str:
        with self._selected():
            return postgres.create_database(name)

    def drop_database(self, name: str) -> None:
        with self._selected():
            postgres.drop_database(name)


@dataclass(frozen=True)
class Servers:
    """The servers of the harness's own that faults may stop; None where a run uses the
    machine's shared ones."""

    broker: KafkaNode | None = None
    cluster: KafkaCluster | None = None
    postgres: PrivatePostgres | None = None
