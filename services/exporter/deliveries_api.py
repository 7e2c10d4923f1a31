"""The webhook deliveries of a buyer's subscription: a test ping, recent attempts, a retry.

A buyer sees only their own subscriptions: any other id is a 404, like one that does not
exist. The notifier's delivery worker sends what these routes queue (docs/webhooks.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import Connection, select

from services.common.db.tables.notifier import subscriptions
from services.exporter.api_models import ErrorOut
from services.exporter.buyers import Buyer
from services.exporter.dependencies import Context, require_buyer
from services.notifier import deliveries

router = APIRouter(prefix="/v1/subscriptions", tags=["webhook deliveries"])

BuyerDep = Annotated[Buyer, Depends(require_buyer)]
SubscriptionId = Annotated[str, Path(max_length=40, pattern=r"^sub_[0-9a-f]{1,36}$")]
DeliveryId = Annotated[str, Path(max_length=40, pattern=r"^msg_[0-9a-f]{1,36}$")]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or invalid API key"},
    403: {"model": ErrorOut, "description": "Not a buyer's key"},
    404: {"model": ErrorOut, "description": "No such subscription or delivery, or not yours"},
}


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None = Field(description="The endpoint's HTTP status; null = no answer.")
    latency_ms: int
    error: str | None = Field(description="Why it failed: timeout, refused, HTTP 500, …")
    next_retry_at: datetime | None


class DeliveryOut(BaseModel):
    id: str = Field(description="The webhook-id header: the same on every attempt.")
    event_id: int | None = Field(description="The leads.stored event; null for a ping.")
    type: str = Field(examples=["lead.created", "lead.updated", "ping"])
    lead_id: int | None
    status: str = Field(description="pending, delivered or failed (given up).")
    attempts: int
    next_retry_at: datetime | None = Field(description="When it is tried next, if pending.")
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: list[AttemptOut] = Field(description="Every attempt, oldest first.")


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    active: bool = Field(description="Whether the subscription is receiving webhooks.")
    disabled_reason: str | None = Field(description="Why delivery stopped, when it did.")


class Queued(BaseModel):
    delivery_id: str = Field(description="Its webhook-id; follow it in .../deliveries.")


def _own_subscription(conn: Connection, buyer: Buyer, subscription_id: str) -> Any:
    c = subscriptions.c
    row = conn.execute(
        select(c.id, c.webhook_url, c.active, c.disabled_reason).where(
            c.id == subscription_id, c.buyer_id == buyer.id
        )
    ).first()
    if row is None:
        raise HTTPException(404, f"subscription {subscription_id} not found")
    return row


@router.post("/{subscription_id}/test", status_code=202, responses=ERRORS)
def send_test(context: Context, buyer: BuyerDep, subscription_id: SubscriptionId) -> Queued:
    """Queue a signed `ping` to the subscription's webhook (sent within seconds)."""
    with context.engine.begin() as conn:
        subscription = _own_subscription(conn, buyer, subscription_id)
        if subscription.webhook_url is None:
            raise HTTPException(409, "this subscription has no webhook_url")
        return Queued(delivery_id=deliveries.create_ping(conn, subscription_id))


@router.get("/{subscription_id}/deliveries", responses=ERRORS)
def list_deliveries(
    context: Context,
    buyer: BuyerDep,
    subscription_id: SubscriptionId,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryList:
    """The subscription's latest deliveries, newest first, with every attempt."""
    with context.engine.connect() as conn:
        subscription = _own_subscription(conn, buyer, subscription_id)
        items = deliveries.recent(conn, subscription_id, limit)
    return DeliveryList(
        items=[
            DeliveryOut(
                **{k: v for k, v in item.items() if k != "next_attempt_at"},
                next_retry_at=item["next_attempt_at"] if item["status"] == "pending" else None,
            )
            for item in items
        ],
        active=subscription.active,
        disabled_reason=subscription.disabled_reason,
    )


@router.post("/{subscription_id}/deliveries/{delivery_id}/retry", status_code=202, responses=ERRORS)
def retry_delivery(
    context: Context, buyer: BuyerDep, subscription_id: SubscriptionId, delivery_id: DeliveryId
) -> Queued:
    """Send a delivery again now (also one that failed for good), with the same webhook-id."""
    with context.engine.begin() as conn:
        _own_subscription(conn, buyer, subscription_id)
        if not deliveries.retry_now(conn, subscription_id, delivery_id):
            raise HTTPException(404, f"delivery {delivery_id} not found")
    return Queued(delivery_id=delivery_id)
