"""The data the exporter benchmark measures: leads filled in PostgreSQL, the bench buyer's
purchases among the sold ones, and a marketplace buyer over a full price book."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, text

from schemas.taxonomy import Tier, TradeGroup
from services.exporter.buyers import Buyer, BuyerPlan, create_buyer
from services.exporter.prices import set_price

BOUGHT = 2_000  # of the 5% sold leads, the bench buyer's own purchases
COUNTIES = ("Dallas", "Collin", "Denton", "Tarrant", "Travis")
SELLABLE = {
    TradeGroup.LUXURY_OUTDOOR: ("pool", "outdoor_living", "fence"),
    TradeGroup.HOME_EXTERIOR: ("roof", "siding", "windows", "garage_door", "concrete", "painting"),
    TradeGroup.HOME_SYSTEMS: ("hvac", "plumbing", "electrical", "solar", "insulation"),
    TradeGroup.STRUCTURAL: ("foundation", "addition", "new_construction", "remodel"),
}


def marketplace_buyer(engine: Engine) -> tuple[Buyer, str]:
    """A marketplace buyer with the bench buyer's entitlements, over a book that prices
    every sellable trade group and tier (and one county more specifically)."""
    now = datetime.now(UTC)
    for group in SELLABLE:
        for tier in ("A", "B", "C"):
            set_price(engine, trade_group=group.value, tier=tier, price=Decimal("30"), now=now)
            set_price(
                engine,
                trade_group=group.value,
                tier=tier,
                price=Decimal("45"),
                county="travis",
                now=now,
            )
    return create_buyer(
        engine,
        "bench-marketplace",
        list(SELLABLE),
        [Tier.A, Tier.B, Tier.C],
        counties=None,
        plan=BuyerPlan.MARKETPLACE,
    )


def fill_leads(engine: Engine, count: int) -> None:
    """``count`` leads spread over the sellable categories, five counties and a year."""
    categories = [(c, g.value) for g, cats in SELLABLE.items() for c in cats]
    values = ", ".join(f"({i}, '{c}', '{g}')" for i, (c, g) in enumerate(categories))
    counties = ", ".join(f"({i}, '{c}')" for i, c in enumerate(COUNTIES))
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.42)"))
        conn.execute(
            text(f"""
            INSERT INTO scored_leads (
                permit_key, jurisdiction, permit_number, city, county, property_address,
                owner_name, project_description, valuation, market_value, is_absentee,
                issued_date, category, tags, trade_group, is_commercial, match, score, tier,
                reasoning, flags, ideal_contractor, contact_priority, scoring_method, model,
                scored_at, content_hash, lead, status, sold_count)
            SELECT 'bench:' || g, 'bench', 'BP-' || g,
                CASE WHEN county = 'Travis' THEN 'Austin' ELSE county END, county,
                g || ' Main St', 'Owner ' || g, 'Work description of permit ' || g,
                (random() * 200000)::int, (100000 + random() * 1500000)::int, random() < 0.2,
                issued, category, '[]'::jsonb, trade_group, false, 'address', score,
                CASE WHEN score < 0 THEN 'RETRY' WHEN score >= 80 THEN 'A'
                     WHEN score >= 50 THEN 'B' ELSE 'C' END,
                'Reasoning of the model for this lead, two or three sentences long.',
                '[]'::jsonb, 'Premium contractor',
                CASE WHEN score < 0 THEN 'skip' ELSE 'call' END,
                CASE WHEN score < 0 THEN 'pending_retry' ELSE 'llm' END, 'bench-model',
                issued + interval '1 day' + random() * interval '20 hours',
                md5(g::text), '{{}}'::jsonb,
                CASE WHEN sold THEN 'sold' ELSE 'new' END, CASE WHEN sold THEN 1 ELSE 0 END
            FROM (
                SELECT g, c.category, c.trade_group, k.county,
                    CASE WHEN random() < 0.02 THEN -1 ELSE (random() * 100)::int END AS score,
                    date '2025-06-01' + (random() * 364)::int AS issued,
                    random() < 0.05 AS sold
                FROM generate_series(1, :count) AS g
                JOIN (VALUES {values}) AS c(i, category, trade_group)
                    ON c.i = g % {len(categories)}
                JOIN (VALUES {counties}) AS k(i, county) ON k.i = (g / 7) % {len(COUNTIES)}
            ) AS generated
            """),
            {"count": count},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE scored_leads"))


def buy_sold_leads(engine: Engine, buyer: Buyer, count: int) -> None:
    """Make the bench buyer the one who bought ``count`` of the sold leads."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO lead_purchases (lead_id, buyer_id, price, purchased_at) "
                "SELECT id, :buyer, 25, now() FROM scored_leads WHERE status = 'sold' "
                "ORDER BY id LIMIT :count"
            ),
            {"buyer": buyer.id, "count": count},
        )
