"""The chaos run's buyer is one the notifier pushes every sellable lead to."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from localinfra.chaos_buyer import subscribe_to_everything
from schemas.taxonomy import Tier, TradeGroup
from services.notifier.index import entitled
from services.notifier.subscriptions import load_active
from services.subscriptions.filters import LeadFacts, matches

pytestmark = pytest.mark.postgres


def test_the_notifier_loads_the_chaos_subscription_entitled_to_every_sellable_lead(
    database_url: str, engine: Engine
) -> None:
    subscription = subscribe_to_everything(database_url, "http://127.0.0.1:9/chaos")

    with engine.connect() as conn:
        [active] = load_active(conn)
    assert (active.id, active.webhook_url) == (subscription, "http://127.0.0.1:9/chaos")
    assert active.buyer.sees_everything
    for group in TradeGroup:
        for tier in Tier:
            lead = LeadFacts(group, "roof", tier, "Travis", "Austin", "78701", 70, None, None)
            pushed = entitled(active.buyer.entitlements, lead) and matches(active.filters, lead)
            assert pushed == (tier is not Tier.RETRY), (group, tier)
