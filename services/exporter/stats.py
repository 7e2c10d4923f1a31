"""Run statistics for operators: what came in and where it ended, over a time window.

Every permit ends as exactly one stored lead, discarded permit or dead letter (the promise in
docs/reliability.md), so
input is their sum. Each is counted by the time of its outcome: ``scored_at``,
``discarded_at``, ``failed_at``. A replayed dead letter is not counted: its permit's outcome is
wherever the replay ended (a lead, a discard, or a new dead letter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Text,
    and_,
    func,
    or_,
    select,
    true,
)
from sqlalchemy import cast as sql_cast

from schemas.leads import REVIEW_BELOW_SCORE, REVIEW_FLAG
from schemas.taxonomy import Tier
from services.common.db.tables.dlq import dead_letters
from services.common.db.tables.pipeline import discarded_permits as discarded
from services.exporter.queries import leads
from services.exporter.records import SELLABLE_TIERS


@dataclass(frozen=True)
class RunStats:
    input: int
    discarded: int
    discarded_by_reason: dict[str, int]
    scored: int
    tiers: dict[str, int]
    pending_retry: int
    flagged: int
    dlq: int
    by_category: dict[str, int]
    by_trade_group: dict[str, int]


def run_stats(conn: Connection, since: datetime | None, until: datetime | None) -> RunStats:
    in_window = _window(leads.c.scored_at, since, until)
    tiers = _count_by(conn, leads.c.tier, in_window)
    discarded_by_reason = _count_by(
        conn, discarded.c.reason, _window(discarded.c.discarded_at, since, until)
    )
    dlq = conn.execute(
        select(func.count())
        .select_from(dead_letters)
        .where(
            dead_letters.c.replayed_at.is_(None), _window(dead_letters.c.failed_at, since, until)
        )
    ).scalar_one()
    flagged = conn.execute(
        select(func.count()).select_from(leads).where(in_window, _flagged())
    ).scalar_one()
    stored = sum(tiers.values())
    return RunStats(
        input=stored + sum(discarded_by_reason.values()) + dlq,
        discarded=sum(discarded_by_reason.values()),
        discarded_by_reason=discarded_by_reason,
        scored=sum(n for tier, n in tiers.items() if tier != Tier.RETRY),
        tiers={tier.value: tiers.get(tier.value, 0) for tier in sorted(SELLABLE_TIERS)},
        pending_retry=tiers.get(Tier.RETRY.value, 0),
        flagged=flagged,
        dlq=dlq,
        by_category=_count_by(conn, leads.c.category, in_window),
        by_trade_group=_count_by(conn, leads.c.trade_group, in_window),
    )


def _flagged() -> ColumnElement[bool]:
    """SQL twin of ``records.is_flagged``."""
    return and_(
        leads.c.tier != Tier.RETRY.value,
        or_(
            leads.c.score < REVIEW_BELOW_SCORE,
            # Text containment, not JSONB @>: the embedded demo runs this on SQLite too.
            sql_cast(leads.c.flags, Text).contains(REVIEW_FLAG),
        ),
    )


def _window(
    column: Column[Any], since: datetime | None, until: datetime | None
) -> ColumnElement[bool]:
    return and_(
        true(),
        *([column >= since] if since is not None else []),
        *([column < until] if until is not None else []),
    )


def _count_by(conn: Connection, column: Column[Any], where: ColumnElement[bool]) -> dict[str, int]:
    rows = conn.execute(
        select(column, func.count()).where(where).group_by(column).order_by(column)
    ).all()
    return {str(key): count for key, count in rows}
