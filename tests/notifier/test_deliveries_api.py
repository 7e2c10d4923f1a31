"""The deliveries routes of the buyer API with the notifier sending for real."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from standardwebhooks import Webhook

from localinfra.webhook_receiver import WebhookReceiver
from schemas import Tier, TradeGroup
from services.exporter.api import create_app
from services.exporter.buyers import create_buyer
from services.exporter.settings import ExporterSettings
from tests.notifier.conftest import wait_until
from tests.notifier.seeds import add_subscription, store
from tests.notifier.test_delivery import StartNotifier
from tests.store.factories import scored_lead

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(ExporterSettings(database_url=database_url))) as client:
        yield client


def buyer(engine: Engine, name: str) -> tuple[int, dict[str, str]]:
    row, key = create_buyer(engine, name, list(TradeGroup), [Tier.A, Tier.B, Tier.C], None)
    return row.id, {"X-API-Key": key}


def test_a_test_ping_arrives_signed_and_its_attempt_is_listed(
    engine: Engine, client: TestClient, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    buyer_id, key = buyer(engine, "Acme")
    sub_id, secret = add_subscription(engine, buyer_id, receiver.url("/ping"))
    start_notifier()

    queued = client.post(f"/v1/subscriptions/{sub_id}/test", headers=key)
    assert queued.status_code == 202
    wait_until(lambda: len(receiver.on("/ping")) == 1, 30, "the ping")
    (ping,) = receiver.on("/ping")
    payload = Webhook(secret).verify(ping.body, ping.headers)
    assert payload["type"] == "ping"
    assert ping.headers["webhook-id"] == queued.json()["delivery_id"]

    def listed() -> Any:
        return client.get(f"/v1/subscriptions/{sub_id}/deliveries", headers=key).json()

    wait_until(lambda: listed()["items"][0]["status"] == "delivered", 10, "the record")
    (item,) = listed()["items"]
    assert item["attempt_log"][0]["status_code"] == 200
    assert item["attempt_log"][0]["latency_ms"] >= 0


def test_another_buyers_subscription_is_a_404_on_every_route(
    engine: Engine, client: TestClient, receiver: WebhookReceiver
) -> None:
    owner, _ = buyer(engine, "Owner")
    _, stranger = buyer(engine, "Stranger")
    sub_id, _ = add_subscription(engine, owner, receiver.url("/x"))
    base = f"/v1/subscriptions/{sub_id}"
    assert client.post(f"{base}/test", headers=stranger).status_code == 404
    assert client.get(f"{base}/deliveries", headers=stranger).status_code == 404
    retry = client.post(f"{base}/deliveries/msg_{'0' * 24}/retry", headers=stranger)
    assert retry.status_code == 404


def test_a_failed_delivery_retried_by_hand_arrives_with_the_same_webhook_id(
    engine: Engine, client: TestClient, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    buyer_id, key = buyer(engine, "Flaky Co")
    sub_id, _ = add_subscription(engine, buyer_id, receiver.url("/flaky"))
    receiver.answers["/flaky"] = 500
    start_notifier(LEADSTREAM_WEBHOOK_RETRY_SCHEDULE_S="[600]")
    delivery_id = client.post(f"/v1/subscriptions/{sub_id}/test", headers=key).json()["delivery_id"]

    def item() -> Any:
        return client.get(f"/v1/subscriptions/{sub_id}/deliveries", headers=key).json()["items"][0]

    wait_until(lambda: item()["attempts"] == 1, 30, "the failed attempt")
    assert item()["last_error"] == "HTTP 500" and item()["next_retry_at"] is not None
    receiver.answers["/flaky"] = 200
    assert (
        client.post(
            f"/v1/subscriptions/{sub_id}/deliveries/{delivery_id}/retry", headers=key
        ).status_code
        == 202
    )
    wait_until(lambda: item()["status"] == "delivered", 30, "the retried delivery")
    ids = [r.headers["webhook-id"] for r in receiver.on("/flaky")]
    assert ids == [delivery_id, delivery_id]  # the failed attempt, then the retry


def test_410_gone_disables_the_subscription_and_the_buyer_sees_why(
    engine: Engine, client: TestClient, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    buyer_id, key = buyer(engine, "Gone Co")
    sub_id, _ = add_subscription(engine, buyer_id, receiver.url("/gone"))
    receiver.answers["/gone"] = 410
    start_notifier()
    store(engine, [scored_lead(i) for i in range(20)])

    def listed() -> Any:
        return client.get(f"/v1/subscriptions/{sub_id}/deliveries", headers=key).json()

    wait_until(lambda: not listed()["active"], 60, "the subscription disabled")
    assert "410 Gone" in listed()["disabled_reason"]
    # Nothing more is sent once disabled.
    sent = len(receiver.received)
    store(engine, [scored_lead(i) for i in range(20, 40)])
    time.sleep(3)
    assert len(receiver.received) == sent


def test_an_endpoint_failing_past_the_give_up_window_is_disabled_with_the_reason(
    engine: Engine, client: TestClient, receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    buyer_id, key = buyer(engine, "Broken Co")
    sub_id, _ = add_subscription(engine, buyer_id, receiver.url("/broken"))
    receiver.answers["/broken"] = 500
    start_notifier(LEADSTREAM_WEBHOOK_GIVE_UP_AFTER_S="3")  # 24 h, shortened
    client.post(f"/v1/subscriptions/{sub_id}/test", headers=key)

    def listed() -> Any:
        return client.get(f"/v1/subscriptions/{sub_id}/deliveries", headers=key).json()

    wait_until(lambda: not listed()["active"], 30, "the subscription disabled")
    assert listed()["disabled_reason"].startswith("the endpoint failed every delivery for 24 hours")
    (item,) = listed()["items"]
    assert item["status"] == "failed" and item["attempts"] >= 2
