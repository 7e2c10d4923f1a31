"""The store service: ``leads.scored``, ``permits.discarded`` and ``permits.dlq`` into the
database (run it with ``leadstream run store`` or ``python -m services.store.service``).

``permits.dlq`` is stored too, so conservation (every permit ends as exactly one lead,
discard or DLQ record) can be checked in SQL.
"""

from __future__ import annotations

from functools import partial

from pydantic import BaseModel

from services.common.config import DatabaseSettings, KafkaSettings, RuntimeSettings
from services.common.db.engine import database_answers, make_engine, require_current_schema
from services.common.kafka import DLQ_MAX_MESSAGE_BYTES
from services.common.runtime import StreamRuntime
from services.common.service import start_service
from services.common.stage import BatchStage
from services.store.writer import STORE_INPUTS, BatchWriter


def build_stage(database_url: str) -> BatchStage[BaseModel]:
    """The store's stage; raises DatabaseNotReady unless the database is reachable and at the
    latest schema."""
    engine = make_engine(database_url)
    require_current_schema(engine)
    return BatchStage(
        name="store",
        inputs=STORE_INPUTS,
        handle_batch=BatchWriter(engine).write_batch,
        dependencies_up=partial(database_answers, engine),
        # DLQ records carry whole original messages; refusing a large one would only send it
        # round the DLQ again.
        max_message_bytes=DLQ_MAX_MESSAGE_BYTES,
    )


def main() -> None:
    kafka, runtime, database = KafkaSettings(), RuntimeSettings(), DatabaseSettings()
    start_service(
        "store", runtime, lambda: StreamRuntime(build_stage(database.database_url), kafka, runtime)
    )


if __name__ == "__main__":
    main()
