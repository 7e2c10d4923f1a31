"""The chaos ledger's conservation count on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from localinfra.chaos_ledger import take_ledger
from services.common.db.engine import make_engine
from services.common.db.tables.dlq import DeadLetterRow
from services.store.writer import BatchWriter
from tests.store.factories import dead_letter, scored_lead


@pytest.mark.postgres
def test_a_replayed_dead_letter_is_not_a_second_outcome_of_its_permit(database_url: str) -> None:
    lead = scored_lead(0)  # rejected once, replayed, then scored
    first_failure = dead_letter(0).model_copy(update={"key": lead.key})
    garbage = dead_letter(1)  # never replayed
    engine = make_engine(database_url)
    BatchWriter(engine).write([lead, first_failure, garbage])
    with engine.begin() as conn:
        conn.execute(
            update(DeadLetterRow)
            .where(DeadLetterRow.key == lead.key)
            .values(replayed_at=datetime.now(UTC))
        )

    inputs = [lead.key, str(garbage.key)]
    ledger = take_ledger(engine, inputs=inputs, garbage=inputs[1:])
    engine.dispose()

    assert (ledger.scored, ledger.dlq, ledger.duplicated, ledger.missing) == (1, 1, (), ())
