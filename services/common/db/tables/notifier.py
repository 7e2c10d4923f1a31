"""The notifier's tables: buyers' subscriptions, the store's outbox of lead events, and the
webhook deliveries with their attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db.tables.base import Base, server_now
from services.common.db.types import BigId, Json


class SubscriptionRow(Base):
    """A buyer's saved search, pushed to ``webhook_url`` when it has one.

    ``filters`` is the ``SubscriptionFilters`` dump (services/subscriptions/filters.py), always
    within the buyer's entitlements when saved. ``secret`` signs the webhooks (Standard
    Webhooks, ``whsec_…``); after a rotation ``previous_secret`` still signs until
    ``previous_secret_until``.
    """

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, comment='"sub_" + 24 hex')
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    filters: Mapped[dict[str, Any]] = mapped_column(Json)
    webhook_url: Mapped[str | None] = mapped_column(Text, comment="null = a saved search")
    secret: Mapped[str] = mapped_column(String(120))
    previous_secret: Mapped[str | None] = mapped_column(String(120))
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )


class LeadEventRow(Base):
    """The store's transactional outbox: one row per lead created or changed, written in the
    same transaction as the lead, published to ``leads.stored`` by the relay after commit
    (services/notifier/relay.py). The id is the event id consumers deduplicate by."""

    __tablename__ = "lead_events"
    __table_args__ = (
        # The relay reads the unpublished rows only; this index holds nothing else.
        Index(
            "ix_lead_events_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(BigId, comment="scored_leads.id")
    permit_key: Mapped[str] = mapped_column(String(140))
    type: Mapped[str] = mapped_column(String(20), comment="lead.created | lead.updated")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )
    published_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="When the relay's publish was acknowledged; null = due."
    )


class WebhookDeliveryRow(Base):
    """One event (or ping) for one subscription: unique per (event, subscription), so a
    replayed event adds nothing. ``id`` is the ``webhook-id`` header, the same on every
    attempt. ``body`` is the exact JSON signed and sent, rendered once when the delivery is
    made, so a redelivery sends the same bytes."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        # The worker claims due pending deliveries, soonest first.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_subscription_id_created_at", "subscription_id", "created_at"),
        CheckConstraint("status IN ('pending','delivered','failed')", name="status_enum"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, comment='"msg_" + 24 hex')
    event_id: Mapped[int | None] = mapped_column(BigId, comment="lead_events.id; null = ping")
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))
    lead_id: Mapped[int | None] = mapped_column(BigId, index=True)
    data_hash: Mapped[str | None] = mapped_column(
        String(64), comment="Hash of the lead as sent (less days_old): an unchanged update is not."
    )
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        comment="When the worker sends it next (also the lease of a claimed one); null = done.",
    )
    first_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )


class WebhookAttemptRow(Base):
    """One HTTP attempt of a delivery, as the buyer sees it in the deliveries API."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Core handles for code that reads and writes rows, not ORM objects (the declarative
# ``__table__`` attribute is typed as a FromClause).
subscriptions = cast(Table, SubscriptionRow.__table__)
lead_events = cast(Table, LeadEventRow.__table__)
webhook_deliveries = cast(Table, WebhookDeliveryRow.__table__)
webhook_attempts = cast(Table, WebhookAttemptRow.__table__)
