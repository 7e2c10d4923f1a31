"""The chaos run's buyer: entitled to every trade group and sellable tier, with one subscription
without filters, so every sellable lead stored must reach the run's webhook receiver.

Made with the product's own functions (those behind ``leadstream buyers add`` and the
subscriptions API), not rows written by hand.
"""

from __future__ import annotations

from schemas.taxonomy import TradeGroup
from services.common.db.engine import make_engine
from services.exporter.buyers import BuyerPlan, create_buyer
from services.exporter.records import SELLABLE_TIERS
from services.subscriptions.store import create as create_subscription

BUYER_NAME = "chaos buyer"


def subscribe_to_everything(database_url: str, webhook_url: str) -> str:
    """The new subscription's id."""
    engine = make_engine(database_url)
    try:
        buyer, _key = create_buyer(
            engine, BUYER_NAME, list(TradeGroup), SELLABLE_TIERS, plan=BuyerPlan.SUBSCRIPTION
        )
        with engine.begin() as conn:
            subscription, _secret = create_subscription(
                conn, buyer.id, name="every lead", filters={}, webhook_url=webhook_url
            )
    finally:
        engine.dispose()
    return str(subscription.id)
