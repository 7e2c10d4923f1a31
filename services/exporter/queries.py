"""The SQL of the buyer API: which leads a viewer may see, filtered, sorted and paged.

A viewer is a ``Buyer`` or ``None`` for an operator (who sees every lead). A buyer sees the
leads within their entitlements that are still for sale or that they bought.

Every page is an ordered walk down the index (score, scored_at, id); conditions on the score
let PostgreSQL start the walk where the wanted leads are instead of skipping past them.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    and_,
    false,
    func,
    null,
    or_,
    select,
    true,
    tuple_,
)

from schemas.leads import tier_for
from schemas.taxonomy import Category, Tier, TradeGroup
from services.common.db.tables.marketplace import lead_purchases
from services.common.db.tables.pipeline import scored_leads
from services.exporter.buyers import Buyer, Entitlements
from services.exporter.cursor import Cursor
from services.exporter.prices import quoted_price
from services.exporter.records import LeadCells
from services.subscriptions.filters import Near
from services.subscriptions.geo import EARTH_RADIUS_MILES, bounding_box

# The API reads rows, not ORM objects (faster to stream, nothing to track), from the two
# tables it reads most, by short names.
leads = scored_leads
purchases = lead_purchases

# Best first; the composite index ix_scored_leads_score_recency serves it scanned backwards.
LEAD_ORDER = (leads.c.score.desc(), leads.c.scored_at.desc(), leads.c.id.desc())

# What a buyer gets; the raw message (``lead``) and the model's chain of thought stay internal.
LEAD_COLUMNS = (
    leads.c.id,
    leads.c.permit_number,
    leads.c.jurisdiction,
    leads.c.city,
    leads.c.county,
    leads.c.property_address,
    leads.c.owner_name,
    leads.c.project_description,
    leads.c.valuation,
    leads.c.market_value,
    leads.c.is_absentee,
    leads.c.issued_date,
    leads.c.category,
    leads.c.tags,
    leads.c.trade_group,
    leads.c.is_commercial,
    leads.c.score,
    leads.c.tier,
    leads.c.reasoning,
    leads.c.flags,
    leads.c.ideal_contractor,
    leads.c.contact_priority,
    leads.c.scoring_method,
    leads.c.scored_at,
    leads.c.status,
    leads.c.sold_count,
    leads.c.related_permits,
    leads.c.zip_code,
    leads.c.latitude,
    leads.c.longitude,
    leads.c.location_approximate,
)


def _score_ranges() -> dict[str, tuple[int, int]]:
    """Each tier's (lowest, highest) score, derived from the one rule that assigns tiers."""
    ranges: dict[str, tuple[int, int]] = {}
    for score in range(-1, 101):
        tier = tier_for(score).value
        low, high = ranges.get(tier, (score, score))
        ranges[tier] = (min(low, score), max(high, score))
    return ranges


TIER_SCORES = _score_ranges()


def in_tiers(tiers: Collection[str]) -> ColumnElement[bool]:
    """Leads of these tiers, stated on the score too so the index walk can skip to them."""
    bounds = [TIER_SCORES[tier] for tier in tiers if tier in TIER_SCORES]
    if not bounds:
        return false()
    return and_(
        leads.c.tier.in_(sorted(tiers)),
        leads.c.score.between(min(low for low, _ in bounds), max(high for _, high in bounds)),
    )


# A CSV record's cells, in ``LeadCells`` order.
CELL_COLUMNS = tuple(leads.c[name] for name in LeadCells._fields)


class LeadStatus(StrEnum):
    NEW = "new"
    EXPORTED = "exported"
    SOLD = "sold"
    CONVERTED = "converted"


_SOLD_STATUSES = (LeadStatus.SOLD, LeadStatus.CONVERTED)


@dataclass(frozen=True)
class LeadFilters:
    trade_group: TradeGroup | None = None
    category: Category | None = None
    tier: Tier | None = None
    min_score: int | None = None
    county: str | None = None
    city: str | None = None
    scored_since: datetime | None = None
    scored_until: datetime | None = None
    status: LeadStatus | None = None
    zip_codes: tuple[str, ...] = ()  # any of these 5-digit ZIPs
    near: Near | None = None


def entitled(entitlements: Entitlements) -> ColumnElement[bool]:
    """Leads of the buyer's trade groups, tiers and counties."""
    county = (
        true()
        if entitlements.counties is None
        else func.lower(leads.c.county).in_(sorted(entitlements.counties))
    )
    return and_(
        leads.c.trade_group.in_(sorted(entitlements.trade_groups)),
        in_tiers(entitlements.tiers),
        county,
    )


def bought_by(buyer: Buyer) -> ColumnElement[bool]:
    """Leads this buyer bought: one probe of the (lead_id, buyer_id) index per lead asked."""
    return (
        select(purchases.c.id)
        .where(purchases.c.lead_id == leads.c.id, purchases.c.buyer_id == buyer.id)
        .exists()
    )


def revealed_to(viewer: Buyer | None) -> ColumnElement[bool]:
    """Whether the viewer sees the lead in full: the operators and subscription buyers always,
    a marketplace buyer once it bought the lead (docs/marketplace.md)."""
    return true() if viewer is None or viewer.sees_everything else bought_by(viewer)


def offer_columns(viewer: Buyer | None) -> tuple[ColumnElement[Any], ...]:
    """The marketplace columns of a row, after the lead's: ``price`` (quoted from the book
    now), ``revealed``, and the names a preview must redact that only the message keeps."""
    if viewer is None or viewer.sees_everything:
        names: tuple[ColumnElement[Any], ...] = (null(), null())
    else:
        permit = leads.c.lead["permit"]
        names = (permit["applicant_name"].as_string(), permit["contractor_name"].as_string())
    return (
        quoted_price().label("price"),
        revealed_to(viewer).label("revealed"),
        names[0].label("applicant_name"),
        names[1].label("contractor_name"),
    )


def visible_leads(viewer: Buyer | None, max_buyers_per_lead: int) -> Select[Any]:
    """Every lead the viewer may see, with the viewer's own purchase of it (if any), its
    price and whether it is revealed to the viewer (``offer_columns``).

    The purchase columns are subqueries rather than a join, so they are read for the leads
    returned only, and the planner cannot trade the walk down the index for a join.
    """
    if viewer is None:
        return select(
            *LEAD_COLUMNS,
            null().label("purchase_price"),
            null().label("purchased_at"),
            null().label("converted_at"),
            *offer_columns(viewer),
        )
    mine = (purchases.c.lead_id == leads.c.id, purchases.c.buyer_id == viewer.id)
    return select(
        *LEAD_COLUMNS,
        *offer_columns(viewer),
        *(
            select(column).where(*mine).scalar_subquery().label(name)
            for name, column in (
                ("purchase_price", purchases.c.price),
                ("purchased_at", purchases.c.purchased_at),
                ("converted_at", purchases.c.converted_at),
            )
        ),
    ).where(
        entitled(viewer.entitlements),
        or_(leads.c.sold_count < max_buyers_per_lead, bought_by(viewer)),
    )


def apply_filters(stmt: Select[Any], filters: LeadFilters) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = []
    if filters.trade_group is not None:
        conditions.append(leads.c.trade_group == filters.trade_group.value)
    if filters.category is not None:
        conditions.append(leads.c.category == filters.category.value)
    if filters.tier is not None:
        conditions.append(in_tiers([filters.tier.value]))
    if filters.min_score is not None:
        conditions.append(leads.c.score >= filters.min_score)
    if filters.county is not None:
        conditions.append(func.lower(leads.c.county) == filters.county.lower())
    if filters.city is not None:
        conditions.append(func.lower(leads.c.city) == filters.city.lower())
    if filters.scored_since is not None:
        conditions.append(leads.c.scored_at >= filters.scored_since)
    if filters.scored_until is not None:
        conditions.append(leads.c.scored_at < filters.scored_until)
    if filters.status is not None:
        conditions.append(leads.c.status == filters.status.value)
    if filters.zip_codes:
        conditions.append(leads.c.zip_code.in_(sorted(set(filters.zip_codes))))
    if filters.near is not None:
        conditions.append(within(filters.near))
    return stmt.where(*conditions)


def within(near: Near) -> ColumnElement[bool]:
    """Leads within ``near.miles`` of the point: the bounding box first (a range on the
    (latitude, longitude) index), then the exact haversine distance. A lead without
    coordinates fails both, so it never matches."""
    box = bounding_box(near.lat, near.lon, near.miles)
    lat, lon = leads.c.latitude, leads.c.longitude
    in_longitudes = (
        or_(lon >= box.min_lon, lon <= box.max_lon)
        if box.wraps
        else lon.between(box.min_lon, box.max_lon)
    )
    return and_(
        lat.between(box.min_lat, box.max_lat), in_longitudes, distance_sql(near) <= near.miles
    )


def distance_sql(near: Near) -> ColumnElement[float]:
    """Haversine miles from the point to the lead, in SQL (as geo.miles_between)."""
    lat1, lon1 = math.radians(near.lat), math.radians(near.lon)
    lat2, lon2 = func.radians(leads.c.latitude), func.radians(leads.c.longitude)
    half_chord = func.power(func.sin((lat2 - lat1) / 2), 2) + math.cos(lat1) * func.cos(
        lat2
    ) * func.power(func.sin((lon2 - lon1) / 2), 2)
    return 2 * EARTH_RADIUS_MILES * func.asin(func.sqrt(half_chord))


NEAR_IN_PREVIEWS = (
    "near filters on the exact location, which previews hide: marketplace buyers filter by "
    "zip_code, city or county instead"
)


class HiddenFilter(ValueError):
    """A filter on what a marketplace buyer's previews hide (it would leak it)."""


def refuse_hidden_filters(viewer: Buyer | None, filters: LeadFilters) -> None:
    """Previews show a lead's location to the ZIP only; a radius search over exact
    coordinates would locate an unbought lead's property, so marketplace buyers cannot ask
    for one. (No filter exists on names, addresses or permit numbers.)"""
    if viewer is not None and not viewer.sees_everything and filters.near is not None:
        raise HiddenFilter(NEAR_IN_PREVIEWS)


def lead_query(viewer: Buyer | None, filters: LeadFilters, max_buyers_per_lead: int) -> Select[Any]:
    """The filtered leads a viewer sees, best first (the list, the CSV download)."""
    refuse_hidden_filters(viewer, filters)
    stmt = apply_filters(visible_leads(viewer, max_buyers_per_lead), filters)
    if viewer is not None and max_buyers_per_lead == 1 and filters.status in _SOLD_STATUSES:
        # Sold exclusively, a lead is visible to its buyer alone: the same rows, but the planner
        # now starts from the buyer's purchases instead of walking every sold lead.
        stmt = stmt.where(bought_by(viewer))
    return stmt.order_by(*LEAD_ORDER)


def csv_query(viewer: Buyer | None, filters: LeadFilters, max_buyers_per_lead: int) -> Select[Any]:
    """``lead_query`` selecting just the cells of a CSV record, then ``offer_columns``."""
    return lead_query(viewer, filters, max_buyers_per_lead).with_only_columns(
        *CELL_COLUMNS, *offer_columns(viewer)
    )


def stream_rows(conn: Connection, stmt: Select[Any], batch: int) -> Iterator[Row[Any]]:
    """Every row of ``stmt`` through a server-side cursor, ``batch`` rows in memory at a time."""
    if conn.dialect.name == "postgresql":
        # A cursor is planned for its first rows by default (a walk down the sort index);
        # these results are read to the end, so plan for all of them (scan, then sort).
        conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")
    yield from conn.execution_options(yield_per=batch).execute(stmt)


def beyond(cursor: Cursor) -> ColumnElement[bool]:
    """Leads after the cursor's in ``LEAD_ORDER`` (a row-value comparison the index serves)."""
    return tuple_(leads.c.score, leads.c.scored_at, leads.c.id) < tuple_(
        cursor.score, cursor.scored_at, cursor.id
    )


def rows_in_pages(engine: Engine, stmt: Select[Any], page: int) -> Iterator[Row[Any]]:
    """Every row of ``stmt`` (in ``LEAD_ORDER``, selecting score, scored_at and id), read in
    keyset pages of ``page`` rows, each on a connection taken from the pool and given back,
    its transaction ended, before the page's rows are handed on.

    So however slowly the consumer goes, it holds no connection and no transaction (nothing
    idle in transaction, nothing holding back VACUUM) between pages. The rows are not one
    snapshot: a lead changed while the download runs may be missed or come twice across pages.
    """
    after: Cursor | None = None
    while True:
        page_stmt = stmt if after is None else stmt.where(beyond(after))
        # Autocommit: one statement needs no transaction, so the session is never even
        # briefly "idle in transaction" between reading the page and going back to the pool.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            rows = conn.execute(page_stmt.limit(page)).all()
        yield from rows
        if len(rows) < page:
            return
        last = rows[-1]
        after = Cursor(last.score, last.scored_at, last.id)


def fetch_page(
    conn: Connection,
    viewer: Buyer | None,
    filters: LeadFilters,
    *,
    after: Cursor | None,
    limit: int,
    max_buyers_per_lead: int,
) -> tuple[Sequence[Row[Any]], Cursor | None]:
    """One page, and the cursor of the next one (None on the last page)."""
    stmt = lead_query(viewer, filters, max_buyers_per_lead)
    if after is not None:
        stmt = stmt.where(beyond(after))
    rows = conn.execute(stmt.limit(limit + 1)).all()
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Cursor(last.score, last.scored_at, last.id)


def fetch_lead(
    conn: Connection, viewer: Buyer | None, lead_id: int, max_buyers_per_lead: int
) -> Row[Any] | None:
    return conn.execute(
        visible_leads(viewer, max_buyers_per_lead).where(leads.c.id == lead_id)
    ).first()
