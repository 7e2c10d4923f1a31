"""Leads stored → signed webhooks received, on real Kafka, PostgreSQL and HTTP (loopback)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from standardwebhooks import Webhook

from localinfra.webhook_receiver import Received, WebhookReceiver
from schemas import Category, ScoredLead, TradeGroup
from services.common.db.tables.notifier import webhook_deliveries
from services.exporter.api_models import LeadOut
from services.exporter.queries import fetch_lead
from tests.notifier.conftest import NotifierProcess, wait_until
from tests.notifier.seeds import SELLABLE, add_buyer, add_subscription, lead_ids, store
from tests.store.factories import scored_lead

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

StartNotifier = Callable[..., NotifierProcess]


def leads(first: int, count: int) -> list[ScoredLead]:
    return [scored_lead(i) for i in range(first, first + count)]


def sellable(messages: list[ScoredLead]) -> list[ScoredLead]:
    return [m for m in messages if m.score.tier.value in SELLABLE]


def verified(received: list[Received], secret: str) -> list[dict[str, Any]]:
    """Each body, verified against its signature with the standardwebhooks package."""
    return [Webhook(secret).verify(r.body, r.headers) for r in received]


def lead_of(payload: dict[str, Any]) -> int:
    return int(payload["data"]["id"])


def test_every_matching_lead_arrives_signed_and_nothing_else_does(
    engine: Engine, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    pools = add_buyer(engine, "Blue Haven Pools", [TradeGroup.LUXURY_OUTDOOR.value])
    systems = add_buyer(engine, "Cool Breeze", [TradeGroup.HOME_SYSTEMS.value], tiers=["A"])
    pool_sub, pool_secret = add_subscription(
        engine, pools, receiver.url("/pools"), {"categories": ["pool"]}
    )
    # No filters: everything the buyer is entitled to (home systems, tier A), nothing more.
    systems_sub, systems_secret = add_subscription(engine, systems, receiver.url("/systems"))
    start_notifier()
    messages = leads(0, 42)
    store(engine, messages)
    ids = lead_ids(engine)
    want_pools = {
        ids[m.key] for m in sellable(messages) if m.categorization.category == Category.POOL
    }
    want_systems = {
        ids[m.key]
        for m in messages
        if m.categorization.trade_group == TradeGroup.HOME_SYSTEMS and m.score.tier.value == "A"
    }
    assert want_pools and want_systems

    wait_until(
        lambda: (
            len(receiver.on("/pools")) >= len(want_pools)
            and len(receiver.on("/systems")) >= len(want_systems)
        ),
        60,
        "the webhooks",
    )
    store(engine, messages)  # an unchanged replay announces nothing
    time.sleep(3)

    pool_payloads = verified(receiver.on("/pools"), pool_secret)
    systems_payloads = verified(receiver.on("/systems"), systems_secret)
    assert sorted(map(lead_of, pool_payloads)) == sorted(want_pools)
    assert sorted(map(lead_of, systems_payloads)) == sorted(want_systems)
    assert {p["type"] for p in pool_payloads + systems_payloads} == {"lead.created"}
    with pytest.raises(Exception, match="signature"):  # the other subscription's secret
        Webhook(systems_secret).verify(
            receiver.on("/pools")[0].body, receiver.on("/pools")[0].headers
        )
    # The data is the lead exactly as GET /v1/leads/{id} shows it to that buyer.
    from services.exporter.buyers import Buyer, BuyerPlan, Entitlements

    groups = Entitlements.of(["luxury_outdoor"], SELLABLE, None)
    buyer = Buyer(pools, "Blue Haven Pools", groups, BuyerPlan.SUBSCRIPTION)
    with engine.connect() as conn:
        for payload in pool_payloads:
            row = fetch_lead(conn, buyer, lead_of(payload), 1)
            api_view = LeadOut.from_row(row, datetime.now(UTC).date()).model_dump(mode="json")
            assert payload["data"] == api_view
    assert pool_sub != systems_sub


def test_a_receiver_down_for_a_while_gets_everything_after_with_unchanged_webhook_ids(
    engine: Engine, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    buyer = add_buyer(engine, "Lone Star Roofing", [TradeGroup.HOME_EXTERIOR.value])
    _, secret = add_subscription(engine, buyer, receiver.url("/roofs"))
    receiver.stop()  # connections refused
    start_notifier()
    messages = leads(100, 70)
    store(engine, messages)
    ids = lead_ids(engine)
    wanted = {
        ids[m.key]
        for m in sellable(messages)
        if m.categorization.trade_group == TradeGroup.HOME_EXTERIOR
    }
    wait_until(lambda: len(_deliveries(engine)) == len(wanted), 30, "the deliveries")
    time.sleep(12)  # several failed attempts each, with the short schedule
    before = _deliveries(engine)
    assert all(row["attempts"] >= 2 for row in before.values()), before
    receiver.start()

    wait_until(
        lambda: len({r.headers["webhook-id"] for r in receiver.on("/roofs")}) >= len(wanted),
        60,
        "the redeliveries",
    )
    payloads = verified(receiver.on("/roofs"), secret)
    assert {lead_of(p) for p in payloads} == wanted
    # Each lead arrived with the webhook-id its delivery had all along.
    by_lead = {row["lead_id"]: webhook_id for webhook_id, row in before.items()}
    for received, payload in zip(receiver.on("/roofs"), payloads, strict=True):
        assert received.headers["webhook-id"] == by_lead[lead_of(payload)]


def test_a_sigkilled_notifier_loses_nothing(
    engine: Engine, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    buyer = add_buyer(engine, "Hill Country Remodeling", [g.value for g in TradeGroup])
    _, secret = add_subscription(engine, buyer, receiver.url("/all"))
    notifier = start_notifier()
    first, second = leads(200, 150), leads(350, 150)
    store(engine, first)
    wait_until(lambda: len(receiver.on("/all")) > 5, 60, "the first webhooks")
    notifier.kill()  # mid-stream: relaying, matching and sending
    store(engine, second)
    start_notifier()
    ids = lead_ids(engine)
    wanted = {ids[m.key] for m in sellable(first + second)}

    wait_until(
        lambda: {lead_of(json.loads(r.body)) for r in receiver.on("/all")} >= wanted,
        90,
        "every lead after the restart",
    )
    payloads = verified(receiver.on("/all"), secret)
    assert {lead_of(p) for p in payloads} == wanted
    ids_per_lead: dict[int, set[str]] = defaultdict(set)
    for received, payload in zip(receiver.on("/all"), payloads, strict=True):
        ids_per_lead[lead_of(payload)].add(received.headers["webhook-id"])
    assert all(len(webhook_ids) == 1 for webhook_ids in ids_per_lead.values())


def test_a_hanging_endpoint_does_not_delay_a_healthy_one(
    engine: Engine, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    receiver.answers["/hangs"] = "hang"
    groups = [g.value for g in TradeGroup]
    add_subscription(engine, add_buyer(engine, "Slow Co", groups), receiver.url("/hangs"))
    add_subscription(engine, add_buyer(engine, "Fast Co", groups), receiver.url("/healthy"))
    start_notifier(LEADSTREAM_WEBHOOK_TIMEOUT_S="10")
    messages = leads(600, 120)
    started = time.monotonic()
    store(engine, messages)

    wait_until(lambda: len(receiver.on("/healthy")) >= len(sellable(messages)), 20, "healthy")
    assert time.monotonic() - started < 20


def _deliveries(engine: Engine) -> dict[str, dict[str, Any]]:
    d = webhook_deliveries.c
    with engine.connect() as conn:
        rows = conn.execute(select(d.id, d.lead_id, d.attempts, d.status)).all()
    return {row.id: dict(row._mapping) for row in rows}
