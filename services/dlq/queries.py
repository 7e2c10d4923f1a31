"""The SQL of the DLQ tools: which dead letters an operator means, page by page, and marking
the replayed ones. Only rows with ``replayed_at`` null are ever selected."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, select, true, update

from services.common.db.tables.dlq import dead_letters
from services.dlq.plan import StoredDeadLetter
from services.dlq.summary import ErrorCount

_columns = dead_letters.c

# Rows read per round trip. Originals are usually a few KB but may be up to 8 MB, so a page
# is kept small enough to hold in memory even then.
PAGE_SIZE = 200


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters an operator means; a field left None matches every row."""

    stage: str | None = None
    source_topic: str | None = None
    key: str | None = None
    error_contains: str | None = None  # case-insensitive substring of the error
    failed_since: datetime | None = None

    @property
    def matches_everything(self) -> bool:
        return all(value is None for value in astuple(self))

    def where(self) -> ColumnElement[bool]:
        """The filter as SQL, for rows not replayed yet."""
        conditions: list[ColumnElement[bool]] = [_columns.replayed_at.is_(None)]
        if self.stage is not None:
            conditions.append(_columns.stage == self.stage)
        if self.source_topic is not None:
            conditions.append(_columns.source_topic == self.source_topic)
        if self.key is not None:
            conditions.append(_columns.key == self.key)
        if self.error_contains is not None:
            conditions.append(_columns.error.icontains(self.error_contains, autoescape=True))
        if self.failed_since is not None:
            conditions.append(_columns.failed_at >= self.failed_since)
        return and_(true(), *conditions)


def pending_pages(
    engine: Engine, selection: DeadLetterFilter, *, limit: int | None, page_size: int = PAGE_SIZE
) -> Iterator[list[StoredDeadLetter]]:
    """The matching rows in the order they were stored, at most ``limit``, a page at a time.

    Pages continue after the last id seen (keyset), so rows marked replayed meanwhile do not
    shift what the next page returns. Insertion order keeps the versions of one permit in the
    order they failed: the DLQ topic is keyed by permit, so they were stored in that order.
    """
    remaining = limit
    after_id = 0
    while remaining is None or remaining > 0:
        size = page_size if remaining is None else min(page_size, remaining)
        query = (
            select(
                _columns.id,
                _columns.stage,
                _columns.source_topic,
                _columns.key,
                _columns.error,
                _columns.original,
                _columns.original_truncated,
                _columns.failed_at,
            )
            .where(selection.where(), _columns.id > after_id)
            .order_by(_columns.id)
            .limit(size)
        )
        with engine.connect() as conn:
            page = [StoredDeadLetter(**row._mapping) for row in conn.execute(query)]
        if page:
            yield page
        if len(page) < size:
            return
        after_id = page[-1].id
        if remaining is not None:
            remaining -= len(page)


def mark_replayed(conn: Connection, letter_ids: Sequence[int], replayed_at: datetime) -> None:
    """Set ``replayed_at`` on these rows (a row another replay marked meanwhile keeps its time)."""
    if letter_ids:
        conn.execute(
            update(dead_letters)
            .where(_columns.id.in_(letter_ids), _columns.replayed_at.is_(None))
            .values(replayed_at=replayed_at)
        )


def error_counts(conn: Connection, failed_since: datetime | None) -> list[ErrorCount]:
    """Rows not replayed yet, counted per stage, source topic and exact error text."""
    in_window = DeadLetterFilter(failed_since=failed_since).where()
    query = (
        select(
            _columns.stage,
            _columns.source_topic,
            _columns.error,
            func.count().label("count"),
            func.max(_columns.failed_at).label("newest_failure"),
        )
        .where(in_window)
        .group_by(_columns.stage, _columns.source_topic, _columns.error)
    )
    return [ErrorCount(**row._mapping) for row in conn.execute(query)]


def replayed_count(conn: Connection, failed_since: datetime | None) -> int:
    query = select(func.count()).select_from(dead_letters).where(_columns.replayed_at.is_not(None))
    if failed_since is not None:
        query = query.where(_columns.failed_at >= failed_since)
    return int(conn.execute(query).scalar_one())
