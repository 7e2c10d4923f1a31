"""The matching index finds exactly what checking every subscription would, from a few."""

from __future__ import annotations

import random

from schemas import Category, TradeGroup
from services.exporter.buyers import Buyer, Entitlements
from services.notifier.index import ActiveSubscription, SubscriptionIndex, entitled
from services.subscriptions.filters import LeadFacts, SubscriptionFilters, matches

COUNTIES = [f"county{n}" for n in range(60)]
ZIPS = [f"{75000 + n}" for n in range(300)]
CATEGORY_GROUP = {
    Category.POOL: TradeGroup.LUXURY_OUTDOOR,
    Category.ROOF: TradeGroup.HOME_EXTERIOR,
    Category.HVAC: TradeGroup.HOME_SYSTEMS,
    Category.SOLAR: TradeGroup.HOME_SYSTEMS,
    Category.REMODEL: TradeGroup.STRUCTURAL,
}


def random_subscriptions(n: int, rng: random.Random) -> list[ActiveSubscription]:
    subs = []
    for i in range(n):
        groups = rng.sample(sorted(set(CATEGORY_GROUP.values())), rng.randint(1, 3))
        counties = rng.sample(COUNTIES, 3) if rng.random() < 0.5 else None
        buyer = Buyer(i, f"b{i}", Entitlements.of(groups, ["A", "B", "C"], counties))
        shape = rng.random()
        filters: dict[str, object] = {"min_score": rng.choice([None, 50, 80])}
        if shape < 0.3:
            filters["zip_codes"] = rng.sample(ZIPS, 5)
        elif shape < 0.6:
            filters["counties"] = rng.sample(COUNTIES, 2)
        elif shape < 0.8:
            filters["categories"] = [rng.choice(list(CATEGORY_GROUP))]
        if rng.random() < 0.2:
            filters["near"] = {"lat": 30.2 + rng.random(), "lon": -97.7 + rng.random(), "miles": 30}
        subs.append(
            ActiveSubscription(f"sub_{i}", buyer, SubscriptionFilters.model_validate(filters), "")
        )
    return subs


def random_lead(rng: random.Random) -> LeadFacts:
    category = rng.choice(list(CATEGORY_GROUP))
    return LeadFacts(
        trade_group=CATEGORY_GROUP[category].value,
        category=category.value,
        tier=rng.choice(["A", "B", "C", "RETRY"]),
        county=rng.choice(COUNTIES).upper(),
        city="x",
        zip_code=rng.choice(ZIPS),
        score=rng.randint(0, 100),
        latitude=30.2 + rng.random(),
        longitude=-97.7 + rng.random(),
    )


def test_the_index_matches_exactly_what_a_full_scan_does_and_checks_few() -> None:
    rng = random.Random(14)
    subscriptions = random_subscriptions(10_000, rng)
    index = SubscriptionIndex(subscriptions)
    checked = 0
    for _ in range(300):
        lead = random_lead(rng)
        scan = {
            s.id
            for s in subscriptions
            if entitled(s.buyer.entitlements, lead) and matches(s.filters, lead)
        }
        assert {s.id for s in index.matching(lead)} == scan
        checked += len(index.candidates(lead))
    assert checked / 300 < 2_000  # of 10,000
