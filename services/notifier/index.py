"""Which active subscriptions a lead matches, without looking at all of them.

Each subscription is filed under one dimension it constrains, the most selective it has: its
ZIP codes, else its counties, else its categories, else its buyer's counties, else its trade
groups (its own, or its buyer's entitlements, which every buyer has). A lead then looks up
the few buckets of its own ZIP, county, category and trade group, and only those candidates
are checked in full with
``services.subscriptions.filters.matches`` and the buyer's entitlements. With 10,000
subscriptions spread over counties and categories, a lead checks tens of them, not 10,000.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from services.exporter.buyers import Buyer, Entitlements
from services.subscriptions.filters import LeadFacts, SubscriptionFilters, five_digit_zip, matches

_ZIP, _COUNTY, _CATEGORY, _TRADE_GROUP = "zip", "county", "category", "trade_group"


@dataclass(frozen=True)
class ActiveSubscription:
    id: str
    buyer: Buyer
    filters: SubscriptionFilters
    webhook_url: str


def entitled(entitlements: Entitlements, lead: LeadFacts) -> bool:
    """The buyer may see this lead (as ``services.exporter.queries.entitled`` says in SQL)."""
    return (
        lead.trade_group in entitlements.trade_groups
        and lead.tier in entitlements.tiers
        and (entitlements.counties is None or (lead.county or "").lower() in entitlements.counties)
    )


def _buckets(subscription: ActiveSubscription) -> list[tuple[str, str]]:
    filters = subscription.filters
    if filters.zip_codes:
        return [(_ZIP, zip_code) for zip_code in filters.zip_codes]
    if filters.counties:
        return [(_COUNTY, county) for county in filters.counties]
    if filters.categories:
        return [(_CATEGORY, str(category)) for category in filters.categories]
    if subscription.buyer.entitlements.counties:  # the buyer sees these counties only
        return [(_COUNTY, county) for county in sorted(subscription.buyer.entitlements.counties)]
    groups = [str(group) for group in filters.trade_groups or ()]
    groups = groups or sorted(subscription.buyer.entitlements.trade_groups)
    return [(_TRADE_GROUP, group) for group in groups]


class SubscriptionIndex:
    def __init__(self, subscriptions: Iterable[ActiveSubscription]) -> None:
        self._buckets: dict[tuple[str, str], list[ActiveSubscription]] = defaultdict(list)
        self.size = 0
        for subscription in subscriptions:
            self.size += 1
            for bucket in _buckets(subscription):
                self._buckets[bucket].append(subscription)

    def candidates(self, lead: LeadFacts) -> list[ActiveSubscription]:
        """The subscriptions filed under the lead's ZIP, county, category or trade group
        (each at most once: a subscription is filed under one dimension)."""
        keys = [(_CATEGORY, lead.category), (_TRADE_GROUP, lead.trade_group)]
        if (zip_code := five_digit_zip(lead.zip_code)) is not None:
            keys.append((_ZIP, zip_code))
        if lead.county:
            keys.append((_COUNTY, lead.county.lower()))
        found: list[ActiveSubscription] = []
        for key in keys:
            found.extend(self._buckets.get(key, ()))
        return found

    def matching(self, lead: LeadFacts) -> list[ActiveSubscription]:
        return [
            subscription
            for subscription in self.candidates(lead)
            if entitled(subscription.buyer.entitlements, lead)
            and matches(subscription.filters, lead)
        ]
