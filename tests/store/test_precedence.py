"""The replacement rules, and that their SQL twins agree with them on real databases."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
)

from services.store.precedence import (
    discard_rank,
    discard_supersedes,
    lead_rank,
    lead_supersedes,
    lead_yields_to_discard,
    newest_per_key,
    permit_rank,
    permit_supersedes,
)

T0 = datetime(2026, 4, 9, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=1)


def test_a_scored_lead_outranks_a_retry_lead_of_any_version() -> None:
    old_scored = lead_rank("B", T0, T0)
    new_retry = lead_rank("RETRY", LATER, LATER)
    assert old_scored > new_retry
    assert lead_rank("C", None, T0) > lead_rank("RETRY", LATER, LATER)


def test_between_leads_of_one_kind_the_newer_version_then_the_later_score_wins() -> None:
    assert lead_rank("C", LATER, T0) > lead_rank("A", T0, LATER)
    assert lead_rank("C", T0, LATER) > lead_rank("A", T0, T0)
    assert lead_rank("RETRY", LATER, T0) > lead_rank("RETRY", T0, LATER)
    assert lead_rank("A", T0, T0) > lead_rank("A", None, LATER)  # no version = oldest


def test_a_lead_yields_only_to_a_discard_of_a_newer_version() -> None:
    assert lead_yields_to_discard(T0, LATER)
    assert not lead_yields_to_discard(T0, T0)
    assert not lead_yields_to_discard(LATER, T0)
    assert lead_yields_to_discard(None, T0)
    assert not lead_yields_to_discard(None, None)


def test_newest_per_key_keeps_the_highest_rank_and_the_later_on_a_tie() -> None:
    items = [("a", 1, "first"), ("b", 5, "only"), ("a", 3, "newest"), ("a", 3, "tie, later")]
    newest = newest_per_key(items, key=lambda item: item[0], rank=lambda item: (item[1],))
    assert {key: item[2] for key, item in newest.items()} == {"a": "tie, later", "b": "only"}


# ------------------------------------------------------------------ the SQL twins

SIDES = list(itertools.product(("A", "RETRY"), (None, T0, LATER), (T0, LATER)))
# Every (incoming, stored) pair of (tier, version, scored_at or discarded_at).
PAIRS = list(itertools.product(SIDES, SIDES))
SqlRule = Callable[[SimpleNamespace, SimpleNamespace], ColumnElement[bool]]


def _sql_verdicts(engine: Engine, rule: SqlRule) -> list[bool]:
    """Evaluate ``rule`` in the database for every pair, in PAIRS order."""
    fields = ("tier", "version_at", "at")
    columns: list[Column[Any]] = [Column("id", Integer, primary_key=True)]
    for name in ("new", "old"):
        columns += [
            Column(f"{name}_tier", String(8)),
            Column(f"{name}_version_at", DateTime(timezone=True)),
            Column(f"{name}_at", DateTime(timezone=True)),
        ]
    table = Table("rank_pairs", MetaData(), *columns)
    table.create(engine)

    def side(name: str) -> SimpleNamespace:
        tier, version, at = (table.c[f"{name}_{field}"] for field in fields)
        return SimpleNamespace(
            tier=tier, version_at=version, scraped_at=version, scored_at=at, discarded_at=at
        )

    rows = [
        {"id": i}
        | {f"new_{field}": value for field, value in zip(fields, new, strict=True)}
        | {f"old_{field}": value for field, value in zip(fields, old, strict=True)}
        for i, (new, old) in enumerate(PAIRS)
    ]
    with engine.begin() as conn:
        conn.execute(insert(table), rows)
        query = select(rule(side("new"), side("old"))).order_by(table.c.id)
        return [bool(verdict) for verdict in conn.scalars(query)]


def test_the_sql_lead_rule_agrees_with_the_python_rank(engine: Engine) -> None:
    expected = [lead_rank(*new) > lead_rank(*old) for new, old in PAIRS]
    assert _sql_verdicts(engine, lead_supersedes) == expected


def test_the_sql_discard_rule_agrees_with_the_python_rank(engine: Engine) -> None:
    expected = [discard_rank(*new[1:]) > discard_rank(*old[1:]) for new, old in PAIRS]
    assert _sql_verdicts(engine, discard_supersedes) == expected


def test_the_sql_permit_rule_agrees_with_the_python_rank(engine: Engine) -> None:
    expected = [permit_rank(new[1]) >= permit_rank(old[1]) for new, old in PAIRS]
    assert _sql_verdicts(engine, permit_supersedes) == expected
