"""The builder registry in the database (SQLAlchemy Core; PostgreSQL in production, SQLite in
the embedded demo), and the categorizer's in-memory view of it.

``builder_observations`` holds one row per (new-home permit, normalised firm name), unique on
(permit_key, name): recording the same permit again inserts nothing, so a replay, a re-scrape
or a second ``leadstream builders learn`` of the same export changes no count. Counts are never
stored; the window is counted from the rows' days. ``builder_overrides`` holds the operators'
word on single names.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import TypeVar

from sqlalchemy import Connection, Engine, and_, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from services.categorizer.builders import (
    VERDICT_ALLOWED,
    VERDICT_BUILDER,
    BuilderSettings,
    KnownBuilders,
    Observation,
    normalise_name,
)
from services.categorizer.rule_book import Rules
from services.common.db.tables.builder_registry import builder_observations as _OBSERVATIONS
from services.common.db.tables.builder_registry import builder_overrides as _OVERRIDES
from services.common.production_builders import says_not_builder

T = TypeVar("T")

# Rows per INSERT: 4 parameters each, well under SQLite's and psycopg2's limits.
_CHUNK = 1_000


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def record(conn: Connection, observations: Iterable[Observation]) -> list[Observation]:
    """Store the observations; returns those that were new (a replayed one is not)."""
    unique = {(item.permit_key, item.name): item for item in observations}
    inserted: list[Observation] = []
    for chunk in _batched(unique.values(), _CHUNK):
        rows = [
            {
                "name": item.name,
                "jurisdiction": item.jurisdiction,
                "permit_key": item.permit_key,
                "observed_on": item.observed_on,
            }
            for item in chunk
        ]
        insert = (
            postgresql.insert(_OBSERVATIONS)
            if conn.dialect.name == "postgresql"
            else sqlite.insert(_OBSERVATIONS)
        )
        statement = (
            insert.values(rows)
            .on_conflict_do_nothing(index_elements=["permit_key", "name"])
            .returning(
                _OBSERVATIONS.c.name,
                _OBSERVATIONS.c.jurisdiction,
                _OBSERVATIONS.c.permit_key,
                _OBSERVATIONS.c.observed_on,
            )
        )
        inserted.extend(Observation(*row) for row in conn.execute(statement))
    return inserted


def load(conn: Connection, settings: BuilderSettings) -> KnownBuilders:
    """The view the categorizer decides on: the days of every name with at least
    ``min_new_homes`` observations in its jurisdiction (fewer can fill no window), and the
    overrides."""
    obs = _OBSERVATIONS.c
    heavy = (
        select(obs.jurisdiction, obs.name)
        .group_by(obs.jurisdiction, obs.name)
        .having(func.count() >= settings.min_new_homes)
        .subquery()
    )
    rows = conn.execute(
        select(obs.jurisdiction, obs.name, obs.observed_on).join(
            heavy, and_(obs.jurisdiction == heavy.c.jurisdiction, obs.name == heavy.c.name)
        )
    )
    known = KnownBuilders(settings, _days(rows), overrides(conn))
    return known


def days_of(conn: Connection, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
    """All observation days of some (jurisdiction, name) pairs, sorted."""
    obs = _OBSERVATIONS.c
    found: dict[tuple[str, str], list[int]] = {}
    for chunk in _batched(sorted(set(pairs)), _CHUNK):
        rows = conn.execute(
            select(obs.jurisdiction, obs.name, obs.observed_on).where(
                tuple_(obs.jurisdiction, obs.name).in_(chunk)
            )
        )
        found.update(_days(rows))
    return found


def _days(rows: Iterable[Sequence[object]]) -> dict[tuple[str, str], list[int]]:
    days: dict[tuple[str, str], list[int]] = defaultdict(list)
    for jurisdiction, name, observed_on in rows:
        assert isinstance(observed_on, date)
        days[(str(jurisdiction), str(name))].append(observed_on.toordinal())
    for values in days.values():
        values.sort()
    return dict(days)


def overrides(conn: Connection) -> dict[str, str]:
    return {
        name: verdict
        for name, verdict in conn.execute(select(_OVERRIDES.c.name, _OVERRIDES.c.verdict))
    }


class UnusableName(ValueError):
    """The name has nothing distinctive left once normalised ("Homes LLC")."""


def set_override(conn: Connection, entered: str, verdict: str) -> str:
    """Record an operator's verdict on a name; returns the name as the registry keys it."""
    if verdict not in (VERDICT_BUILDER, VERDICT_ALLOWED):
        raise ValueError(f"unknown verdict {verdict!r}")
    name = normalise_name(entered)
    if name is None:
        raise UnusableName(
            f"{entered!r} has no name left once its legal form and builder words are dropped"
        )
    insert = (
        postgresql.insert(_OVERRIDES)
        if conn.dialect.name == "postgresql"
        else sqlite.insert(_OVERRIDES)
    )
    values = {"name": name, "verdict": verdict, "entered_as": entered[:256]}
    conn.execute(
        insert.values(values).on_conflict_do_update(
            index_elements=["name"],
            set_={"verdict": verdict, "entered_as": entered[:256], "updated_at": func.now()},
        )
    )
    return name


@dataclass(frozen=True)
class ListedBuilder:
    jurisdiction: str  # "*" for an operator's addition, which holds everywhere
    name: str
    peak: int  # most new-home permits in any window; 0 for an addition without permits
    first_seen: date | None
    last_seen: date | None
    source: str  # "counts" or "added by an operator"


def listing(
    conn: Connection, rules: Rules, settings: BuilderSettings, jurisdiction: str | None
) -> list[ListedBuilder]:
    """Every name the registry flags (its counts, or an operator's addition), busiest first;
    names an operator allowed, or whose words say custom builder or plan reviewer, are left
    out, as the categorizer leaves them."""
    known = load(conn, settings)
    listed = []
    for place, name, peak in known.pairs_at_threshold():
        if jurisdiction is not None and place != jurisdiction:
            continue
        verdict = known.overrides.get(name)
        if verdict == VERDICT_ALLOWED or (
            verdict is None and says_not_builder(rules.builder_names, name)
        ):
            continue
        days = known.days[(place, name)]
        source = "added by an operator" if known.overrides.get(name) else "counts"
        first, last = date.fromordinal(days[0]), date.fromordinal(days[-1])
        listed.append(ListedBuilder(place, name, peak, first, last, source))
    counted = {item.name for item in listed}
    for name, verdict in sorted(known.overrides.items()):
        if verdict == VERDICT_BUILDER and name not in counted:
            listed.append(ListedBuilder("*", name, 0, None, None, "added by an operator"))
    return listed


class LiveRegistry:
    """The registry as the categorizer stage uses it: a batch's new-home permits recorded in
    one transaction, and an in-memory view kept current from them, re-read in full every
    ``refresh_s`` for what other replicas and operators wrote."""

    def __init__(
        self,
        engine: Engine,
        settings: BuilderSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.known = KnownBuilders(settings)
        self._loaded_at: float | None = None

    def refresh(self) -> None:
        with self.engine.connect() as conn:
            self.known = load(conn, self.settings)
        self._loaded_at = self.clock()

    def record(self, observations: Sequence[Observation]) -> KnownBuilders:
        """Store a batch's observations and return the view that includes them."""
        if self._loaded_at is None or self.clock() - self._loaded_at >= self.settings.refresh_s:
            self.refresh()
        if not observations:
            return self.known
        with self.engine.begin() as conn:
            inserted = record(conn, observations)
            crossing = set()
            for item in inserted:
                pair = (item.jurisdiction, item.name)
                if pair in self.known.days:
                    self.known.add(item.jurisdiction, item.name, item.observed_on)
                else:
                    crossing.add(pair)
            if crossing:
                # A name the view does not hold yet: the view takes it once it has enough rows.
                for pair, days in days_of(conn, crossing).items():
                    if len(days) >= self.settings.min_new_homes:
                        self.known.days[pair] = days
        return self.known
