"""The store gives every lead its location; migration 0006 gives the leads stored before it
theirs the same way (PostgreSQL and SQLite)."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import Engine, MetaData, Table, insert

from services.common.db.engine import alembic_config, make_engine, upgrade
from services.common.db.tables.pipeline import ScoredLeadRow
from services.store.rows import lead_rows
from services.store.writer import BatchWriter
from tests.store.factories import scored_lead
from tests.store.tables import stored

LOCATION = ("zip_code", "latitude", "longitude", "location_approximate")


def test_the_store_writes_the_portals_point_else_the_zips_centroid(
    writer: BatchWriter, engine: Engine
) -> None:
    pointed = scored_lead(1, zip_code="78704-1111", latitude=30.2480, longitude=-97.7500)
    zip_only = scored_lead(2, zip_code="78704")
    nowhere = scored_lead(3, zip_code=None)
    writer.write([pointed, zip_only, nowhere])
    (first,) = stored(engine, ScoredLeadRow, pointed.key)
    assert [first[k] for k in LOCATION] == ["78704", 30.2480, -97.7500, False]
    (second,) = stored(engine, ScoredLeadRow, zip_only.key)
    assert second["zip_code"] == "78704" and second["location_approximate"] is True
    assert 30.1 < second["latitude"] < 30.4 and -97.9 < second["longitude"] < -97.6
    (third,) = stored(engine, ScoredLeadRow, nowhere.key)
    assert [third[k] for k in LOCATION] == [None, None, None, None]


def test_leads_stored_before_0006_get_their_location(store_url: str) -> None:
    command.downgrade(alembic_config(store_url), "0005")
    pointed = scored_lead(1, latitude=30.2480, longitude=-97.7500)
    zip_only = scored_lead(2, zip_code="78704-2222")
    nowhere = scored_lead(3, zip_code=None)
    engine = make_engine(store_url)
    with engine.begin() as conn:
        table = Table("scored_leads", MetaData(), autoload_with=conn)
        for lead in (pointed, zip_only, nowhere):
            row = {k: v for k, v in lead_rows(lead).lead.items() if k in table.c}
            conn.execute(insert(table).values({**row, "lead": json.loads(row["lead"])}))
    upgrade(store_url)

    (first,) = stored(engine, ScoredLeadRow, pointed.key)
    assert [first[k] for k in LOCATION][1:] == [30.2480, -97.7500, False]
    (second,) = stored(engine, ScoredLeadRow, zip_only.key)
    assert second["zip_code"] == "78704" and second["location_approximate"] is True
    assert second["latitude"] is not None
    (third,) = stored(engine, ScoredLeadRow, nowhere.key)
    assert [third[k] for k in LOCATION] == [None, None, None, None]
    engine.dispose()
