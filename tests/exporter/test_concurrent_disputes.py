"""Racing requests on one dispute: one is opened, one decision wins, one credit is paid."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from schemas.taxonomy import Tier, TradeGroup
from services.common.db.engine import make_engine
from services.common.db.tables.marketplace import disputes, ledger_entries
from services.exporter.buyers import create_buyer
from services.exporter.dispute_rules import DisputeReason
from services.exporter.disputes import DisputeConflict, decide_dispute, open_dispute
from services.exporter.sales import purchase_lead
from tests.exporter.factories import insert_lead

pytestmark = pytest.mark.postgres
RACERS = 12


def _race(action: Callable[[int], None]) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    start = threading.Barrier(RACERS)

    def run(i: int) -> None:
        start.wait()
        try:
            action(i)
            outcomes["ok"] += 1
        except DisputeConflict:
            outcomes["conflict"] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_racing_opens_and_approvals_credit_exactly_once(database_url: str) -> None:
    engine: Engine = make_engine(database_url, pool_size=RACERS)
    try:
        now = datetime.now(UTC)
        buyer, _ = create_buyer(engine, "Acme Pools", [TradeGroup.LUXURY_OUTDOOR], [Tier.A])
        lead_id = insert_lead(engine, issued_date=now.date() - timedelta(days=3))
        purchase_lead(engine, buyer, lead_id, Decimal("40.00"), max_buyers_per_lead=1, now=now)

        def dispute(_: int) -> None:
            open_dispute(
                engine, buyer, lead_id, DisputeReason.WRONG_CONTACT, None, window_days=7, now=now
            )

        assert _race(dispute) == Counter(ok=1, conflict=RACERS - 1)
        with engine.connect() as conn:
            dispute_id = conn.execute(select(disputes.c.id)).scalar_one()

        def approve_or_deny(i: int) -> None:
            decide_dispute(engine, dispute_id, approve=i % 2 == 0, note="checked", now=now)

        assert _race(approve_or_deny) == Counter(ok=1, conflict=RACERS - 1)
        with engine.connect() as conn:
            status = conn.execute(select(disputes.c.status)).scalar_one()
            credits = conn.execute(
                select(ledger_entries.c.amount).where(ledger_entries.c.kind == "credit")
            ).scalars()
            assert list(credits) == ([Decimal("-40.00")] if status == "approved" else [])
    finally:
        engine.dispose()
