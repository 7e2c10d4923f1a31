"""A thousand endpoints down: the worker keeps trying each on schedule, holding only its slots."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine, func, select

from services.common.db.tables.notifier import webhook_attempts
from services.notifier.settings import NotifierSettings
from services.notifier.worker import DeliveryWorker
from tests.notifier.test_claims import dead_endpoints

pytestmark = pytest.mark.postgres


def test_a_thousand_dead_endpoints_are_each_tried_and_rescheduled(
    engine: Engine, database_url: str
) -> None:
    endpoints = 1_000
    dead_endpoints(engine, endpoints, 3, url="http://127.0.0.1:9/{n}")  # port 9: refused
    settings = NotifierSettings(
        database_url=database_url,
        webhook_allow_private=True,
        webhook_retry_schedule_s=(30.0,),
        webhook_max_in_flight=100,
    )
    worker = DeliveryWorker(engine, settings)

    async def run_for(seconds: float) -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await worker.run(stop)

    asyncio.run(run_for(15))  # with every slot busy, the worker must still yield: it once spun

    with engine.connect() as conn:
        attempts = conn.execute(select(func.count()).select_from(webhook_attempts)).scalar_one()
    assert (
        attempts == 3 * endpoints
    )  # every delivery tried once, none again before its retry is due
