"""One query fetches every account a batch of permits could match (never one per permit)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from services.common.db.tables.pipeline import PropertyRow
from services.enricher.matching import Candidates, MatchRequest, PropertyFacts

_FACT_COLUMNS = [getattr(PropertyRow, f.name) for f in fields(PropertyFacts)]


def fetch_candidates(conn: Connection, requests: Sequence[MatchRequest]) -> Candidates:
    """The accounts any rule of the cascade could pick for ``requests``, indexed.

    The conditions mirror the rules: ids for ``parcel``, the full normalised address for
    ``address_unit``, and single-unit street lines for ``address`` (only asked for permits that
    gave a unit; without one, the full address already is the street line).
    """
    ids = {r.parcel for r in requests if r.parcel is not None}
    addresses = {r.address.full for r in requests if r.address is not None}
    streets = {r.address.street for r in requests if r.address is not None and r.address.unit}
    conditions: list[ColumnElement[bool]] = []
    if ids:
        conditions += [PropertyRow.parcel_id.in_(ids), PropertyRow.account_id.in_(ids)]
    if addresses:
        conditions.append(PropertyRow.situs_normalized.in_(addresses))
    if streets:
        conditions.append(
            and_(
                PropertyRow.situs_street.in_(streets),
                PropertyRow.situs_unit.is_(None),
                PropertyRow.units_at_situs == 1,
            )
        )
    if not conditions:
        return Candidates()
    rows = conn.execute(select(*_FACT_COLUMNS).where(or_(*conditions)))
    return Candidates.index(PropertyFacts(*row) for row in rows)
