"""``leadstream dlq summary`` on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from services.common.db.tables.dlq import DeadLetterRow
from tests.dlq.conftest import RunDlq, store
from tests.store.factories import dead_letter

pytestmark = pytest.mark.postgres

RECENT = datetime.now(UTC) - timedelta(minutes=30)
VALUATION = "invalid message: valuation: Input should be a valid number"


def test_the_summary_counts_what_waits_by_kind_and_what_was_replayed(
    engine: Engine, run_dlq: RunDlq
) -> None:
    valuation = [
        dead_letter(i).model_copy(update={"error": VALUATION, "failed_at": RECENT})
        for i in range(5)
    ]
    not_utf8 = [
        dead_letter(i).model_copy(
            update={"error": f"not UTF-8: can't decode byte 0xff in position {i}: invalid"}
        )
        for i in range(5, 8)
    ]
    stored_lead_rejected = dead_letter(8).model_copy(
        update={"stage": "store", "source_topic": "leads.scored", "failed_at": RECENT}
    )
    store(engine, *valuation, *not_utf8, stored_lead_rejected)
    with engine.begin() as conn:  # two of the valuation failures were replayed already
        conn.execute(
            update(DeadLetterRow)
            .where(DeadLetterRow.source_offset.in_([0, 1]))
            .values(replayed_at=datetime.now(UTC))
        )

    status, everything = run_dlq("summary")
    assert status == 0
    lines = everything.splitlines()
    # Equal counts: by stage, topic, then error text.
    assert lines[3].split()[:2] == ["3", f"{RECENT:%Y-%m-%d}"] and VALUATION in lines[3]
    assert lines[4].split()[:2] == ["3", "2026-04-09"]  # the factories' failure time
    assert "not UTF-8: can't decode byte 0xff in position N: invalid" in lines[4]
    assert lines[5].split()[0] == "1" and "store" in lines[5] and "leads.scored" in lines[5]
    assert lines[-1] == "7 waiting in 3 kinds; 2 already replayed."

    status, recent = run_dlq("summary", "--hours", "2")
    assert status == 0
    assert "not UTF-8" not in recent
    assert recent.splitlines()[-1] == "4 waiting in 2 kinds; 2 already replayed."
