"""Which version of a permit's outcome wins: the store's replacement rules.

Each rule exists twice, as a Python ordering (to collapse duplicates inside one batch and to
decide between a lead and a discard) and as the SQL condition of the upsert (so a redelivered
or late message can never overwrite a newer row, whatever order replicas commit in). The two
must agree; tests/store/test_precedence.py checks the SQL against the Python on a real database.

- A permit version is its ``scraped_at``; a permit without one is older than any with one.
- Leads: a scored lead outranks a RETRY lead whatever their versions (a RETRY never erases a
  sellable score; a score always replaces a RETRY); between leads of the same kind the newer
  permit version wins, and on the same version the later ``scored_at``.
- Discards: the newer permit version wins, then the later ``discarded_at``.
- A lead replaces a discard of the same or an older version; a discard never replaces a lead.
- The ``permits`` row keeps the newest version seen (on equal versions the last one stored),
  whichever outcome the message had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, or_

from schemas.taxonomy import Tier

# Orders before every real scrape time, so "no version" is the oldest version.
_NO_VERSION = datetime.min.replace(tzinfo=UTC)

Rank = tuple[Any, ...]
Item = TypeVar("Item")


def version_order(version_at: datetime | None) -> datetime:
    return version_at if version_at is not None else _NO_VERSION


def lead_rank(tier: str, version_at: datetime | None, scored_at: datetime) -> Rank:
    return (tier != Tier.RETRY, version_order(version_at), scored_at)


def discard_rank(version_at: datetime | None, discarded_at: datetime) -> Rank:
    return (version_order(version_at), discarded_at)


def permit_rank(scraped_at: datetime | None) -> Rank:
    return (version_order(scraped_at),)


def lead_yields_to_discard(lead_version: datetime | None, discard_version: datetime | None) -> bool:
    """A lead is not stored over a discard of a newer permit version."""
    return version_order(discard_version) > version_order(lead_version)


def newest_per_key(
    items: Iterable[Item], key: Callable[[Item], str], rank: Callable[[Item], Rank]
) -> dict[str, Item]:
    """The winning item per permit key; on equal rank the later item wins (it arrived last)."""
    newest: dict[str, Item] = {}
    for item in items:
        current = newest.get(key(item))
        if current is None or rank(item) >= rank(current):
            newest[key(item)] = item
    return newest


# ---------------------------------------------------------------------------------- SQL

Columns = Any  # a table's ``.c`` or an upsert's ``.excluded``: columns by attribute name


def _newer_version(new: ColumnElement[Any], old: ColumnElement[Any]) -> ColumnElement[bool]:
    return or_(new > old, and_(old.is_(None), new.is_not(None)))


def _same_version(new: ColumnElement[Any], old: ColumnElement[Any]) -> ColumnElement[bool]:
    return new.is_not_distinct_from(old)


def lead_supersedes(new: Columns, old: Columns) -> ColumnElement[bool]:
    """SQL twin of :func:`lead_rank`: the incoming lead outranks the stored one."""
    new_scored, old_scored = new.tier != Tier.RETRY.value, old.tier != Tier.RETRY.value
    return or_(
        and_(new_scored, old.tier == Tier.RETRY.value),
        and_(
            new_scored == old_scored,
            or_(
                _newer_version(new.version_at, old.version_at),
                and_(_same_version(new.version_at, old.version_at), new.scored_at > old.scored_at),
            ),
        ),
    )


def discard_supersedes(new: Columns, old: Columns) -> ColumnElement[bool]:
    """SQL twin of :func:`discard_rank`."""
    return or_(
        _newer_version(new.version_at, old.version_at),
        and_(_same_version(new.version_at, old.version_at), new.discarded_at > old.discarded_at),
    )


def permit_supersedes(new: Columns, old: Columns) -> ColumnElement[bool]:
    """The incoming permit version is not older than the stored one."""
    return or_(
        _newer_version(new.scraped_at, old.scraped_at),
        _same_version(new.scraped_at, old.scraped_at),
    )
