"""A subscription narrows a buyer's entitlements, never widens them.

A filter key left out means "all I am entitled to"; a key given may only name what the buyer
is entitled to: a trade group, tier or county (or a category of a trade group) beyond them is
refused with a message that says which and what the buyer has. Entitlements can shrink after
a subscription is saved, so whoever delivers intersects with the entitlements of the day too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

import yaml

from services.categorizer.rule_book import DEFAULT_RULES_PATH
from services.exporter.buyers import Entitlements
from services.subscriptions.filters import SubscriptionFilters


class NotEntitled(ValueError):
    """The filters ask for something beyond the buyer's entitlements (a 422)."""


def check_within(filters: SubscriptionFilters, entitlements: Entitlements) -> None:
    """Raises NotEntitled naming every value beyond the entitlements."""
    problems: list[str] = []
    granted_groups = entitlements.trade_groups
    if filters.trade_groups is not None:
        beyond = [g.value for g in filters.trade_groups if g.value not in granted_groups]
        if beyond:
            problems.append(
                f"trade group {_listing(beyond)} not in your entitlements "
                f"(you have {_listing(sorted(granted_groups))})"
            )
    if filters.categories is not None:
        groups = category_trade_groups()
        beyond = [c.value for c in filters.categories if groups.get(c.value) not in granted_groups]
        if beyond:
            problems.append(
                f"category {_listing(beyond)} of a trade group not in your entitlements "
                f"(you have {_listing(sorted(granted_groups))})"
            )
    if filters.tiers is not None:
        beyond = [t for t in filters.tiers if t not in entitlements.tiers]
        if beyond:
            problems.append(
                f"tier {_listing(beyond)} not in your entitlements "
                f"(you have {_listing(sorted(entitlements.tiers))})"
            )
    if filters.counties is not None and entitlements.counties is not None:
        beyond = [c for c in filters.counties if c not in entitlements.counties]
        if beyond:
            problems.append(
                f"county {_listing(beyond)} not in your entitlements "
                f"(you have {_listing(sorted(entitlements.counties))})"
            )
    if problems:
        raise NotEntitled("filters beyond your entitlements: " + "; ".join(problems))


@cache
def category_trade_groups() -> Mapping[str, str]:
    """Each category's trade group, from the categorizer's built-in taxonomy (the trade group
    a stored lead of that category has)."""
    with DEFAULT_RULES_PATH.open(encoding="utf-8") as handle:
        taxonomy = yaml.safe_load(handle)["taxonomy"]
    return {str(category): str(group) for category, group in taxonomy.items()}


def _listing(values: Iterable[str]) -> str:
    return ", ".join(values) or "none"
