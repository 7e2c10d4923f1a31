"""The active subscriptions with a webhook, and their buyers, read for the matching index."""

from __future__ import annotations

import logging
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Connection, Table, func, select

from services.common.db.tables.marketplace import BuyerRow
from services.common.db.tables.notifier import subscriptions as _SUBSCRIPTIONS
from services.exporter.buyers import Buyer, BuyerPlan, Entitlements
from services.notifier.index import ActiveSubscription
from services.subscriptions.filters import SubscriptionFilters

log = logging.getLogger(__name__)
_BUYERS = cast(Table, BuyerRow.__table__)


def version(conn: Connection) -> tuple[Any, ...]:
    """Changes whenever a subscription is added, changed or deleted (one cheap query)."""
    columns = _SUBSCRIPTIONS.c
    row = conn.execute(select(func.count(), func.max(columns.updated_at))).one()
    return tuple(row)


def load_active(conn: Connection) -> list[ActiveSubscription]:
    subs, buyers = _SUBSCRIPTIONS.c, _BUYERS.c
    query = (
        select(
            subs.id,
            subs.filters,
            subs.webhook_url,
            buyers.id,
            buyers.name,
            buyers.trade_groups,
            buyers.tiers,
            buyers.counties,
            buyers.plan,
        )
        .select_from(_SUBSCRIPTIONS.join(_BUYERS, buyers.id == subs.buyer_id))
        .where(subs.active.is_(True), buyers.active.is_(True), subs.webhook_url.is_not(None))
    )
    active = []
    for sub_id, filters, url, buyer_id, name, groups, tiers, counties, plan in conn.execute(query):
        try:
            parsed = SubscriptionFilters.model_validate(filters or {})
        except ValidationError as exc:  # saved by an older version: skip it, loudly
            log.error(
                "subscription filters no longer valid", extra={"id": sub_id, "error": str(exc)}
            )
            continue
        buyer = Buyer(buyer_id, name, Entitlements.of(groups, tiers, counties), BuyerPlan(plan))
        active.append(ActiveSubscription(sub_id, buyer, parsed, url))
    return active
