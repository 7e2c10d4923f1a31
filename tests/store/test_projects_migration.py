"""Migration 0005 on a database with leads: they get their project key, so the next permit of
their job joins them instead of becoming a second lead."""

from __future__ import annotations

import json
from datetime import date

from alembic import command
from sqlalchemy import MetaData, Table, insert, select

from services.common.db.engine import alembic_config, make_engine, upgrade
from services.common.db.tables.pipeline import DiscardedPermitRow, ScoredLeadRow
from services.store.rows import lead_rows
from services.store.writer import BatchWriter
from tests.store.factories import scored_lead
from tests.store.tables import stored


def test_leads_stored_before_0005_get_their_project_and_are_joined(store_url: str) -> None:
    command.downgrade(alembic_config(store_url), "0004")
    before = scored_lead(
        0, permit_number="2015-000100 BP", property_address="123 N Main St", issued_date=None
    )
    engine = make_engine(store_url)
    with engine.begin() as conn:
        table = Table("scored_leads", MetaData(), autoload_with=conn)
        row = {k: v for k, v in lead_rows(before).lead.items() if k in table.c}
        conn.execute(insert(table).values({**row, "lead": json.loads(row["lead"])}))
    upgrade(store_url)

    (lead,) = stored(engine, ScoredLeadRow, before.key)
    assert lead["project_key"] == "address:austin_tx:123 N MAIN ST|pool"
    assert lead["project_date"] == date(2026, 4, 9)  # not issued: the day it was scraped
    assert lead["related_permits"] == []

    after = scored_lead(35, permit_number="2015-000101 PP", property_address="123 NORTH MAIN ST")
    BatchWriter(engine).write([after])
    (duplicate,) = stored(engine, DiscardedPermitRow, after.key)
    assert duplicate["duplicate_of"] == before.key
    with engine.connect() as conn:
        related = conn.execute(select(ScoredLeadRow.related_permits)).scalar_one()
    assert [entry["permit_id"] for entry in related] == ["2015-000101 PP"]
    engine.dispose()
