"""Production builders: the rules' built-in names and name shapes, and the registry learned from
the permits themselves (pure; the database side is ``registry.py``).

A builder is known by behaviour: a firm that files at least ``min_new_homes`` new-home permits
in one jurisdiction within ``window_days`` is a production builder there, on every permit dated
inside such a window. Names are compared normalised (:func:`normalise_name`), so "D.R. Horton
Homes, Inc." and "DR HORTON" are one builder. Operators override single names: ``builder``
(``leadstream builders add``) or ``allowed`` (``leadstream builders allow``).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.permits import RawPermit
from services.categorizer.rule_book import Rules
from services.common.phrases import words
from services.common.production_builders import says_not_builder

# Legal forms and articles: never part of who a firm is.
_LEGAL_WORDS = frozenset(
    {
        "the",
        "llc",
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "lp",
        "llp",
        "lllp",
        "pllc",
        "plc",
        "pc",
        "corp",
        "corporation",
        "co",
        "company",
    }
)
# "Homes", "Homebuilders", "Communities" …: the same builder writes its name with any of them.
_BUILDER_WORDS = frozenset(
    {
        "home",
        "homes",
        "homebuilder",
        "homebuilders",
        "homebuilding",
        "builder",
        "builders",
        "community",
        "communities",
    }
)
_DBA = re.compile(r"\b(?:dba|d b a|doing business as)\b")
_APOSTROPHE = re.compile(r"['’`]")

VERDICT_BUILDER = "builder"
VERDICT_ALLOWED = "allowed"


class BuilderSettings(BaseSettings):
    """The registry's knobs, from ``LEADSTREAM_BUILDER_*`` (docs/categorizer.md says why
    these defaults)."""

    model_config = SettingsConfigDict(env_prefix="LEADSTREAM_BUILDER_", extra="ignore", frozen=True)

    min_new_homes: int = Field(
        default=12,
        ge=1,
        description="New-home permits in one jurisdiction within the window that make a firm "
        "a production builder there.",
    )
    window_days: int = Field(default=365, ge=1, description="The rolling window, in days.")
    refresh_s: float = Field(
        default=30.0,
        gt=0,
        description="How often the categorizer re-reads the registry (other replicas' permits, "
        "operators' add/allow).",
    )


@lru_cache(maxsize=16_384)
def normalise_name(name: str) -> str | None:
    """A firm's name as the registry keys it, or None when nothing distinctive is left.

    Lower case; "&" is "and"; punctuation splits words; runs of single letters join ("D.R." and
    "D R" → "dr", "L.L.C." → "llc", "M/I" → "mi"); a "… DBA Brand" is known as its brand; legal
    forms (LLC, Inc, Ltd, LP, Corp, Co, The …) and the builder words (Home(s), Homebuilder(s),
    Builder(s), Communit(y|ies)) are dropped wherever they stand.
    """
    text = _APOSTROPHE.sub("", name.lower()).replace("&", " and ")
    text = " ".join(words(text))
    parts = _DBA.split(text)
    if len(parts) > 1 and parts[-1].strip():
        text = parts[-1]
    joined: list[str] = []
    letters = ""
    for word in text.split():
        if len(word) == 1 and word.isalpha():
            letters += word
            continue
        if letters:
            joined.append(letters)
            letters = ""
        joined.append(word)
    if letters:
        joined.append(letters)
    kept = " ".join(w for w in joined if w not in _LEGAL_WORDS and w not in _BUILDER_WORDS)
    # One letter ("M Builders LLC" → "m") would be shared by too many firms to mean one.
    return kept if len(kept) >= 2 else None


@dataclass(frozen=True)
class Observation:
    """A new-home permit filed by a firm: one row of the registry."""

    name: str  # normalised
    jurisdiction: str
    permit_key: str
    observed_on: date


def permit_date(permit: RawPermit) -> date | None:
    """The day a permit counts on: applied (when the builder acted), else issued, else the
    day it was scraped."""
    if permit.applied_date is not None:
        return permit.applied_date
    if permit.issued_date is not None:
        return permit.issued_date
    return permit.scraped_at.date() if permit.scraped_at is not None else None


def firm_of(permit: RawPermit) -> str | None:
    """Who filed for the work: the contractor, else the applicant. (Austin's applicant beside
    a contractor is the firm's permit runner, a person.)"""
    return permit.contractor_name or permit.applicant_name


@dataclass(frozen=True)
class Flag:
    """Why a name is a production builder: evidence like ``builder:acme 37 new homes in
    austin_tx within 365 days``."""

    name: str
    evidence: str


@dataclass
class KnownBuilders:
    """The registry as the categorizer consults it: per (jurisdiction, normalised name) the
    sorted days of its new-home permits, and the operators' overrides.

    A loaded view may hold only the names with at least ``min_new_homes`` observations in all
    (no window can reach the threshold with fewer).
    """

    settings: BuilderSettings
    days: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)

    def add(self, jurisdiction: str, name: str, on: date) -> None:
        bisect.insort(self.days.setdefault((jurisdiction, name), []), on.toordinal())

    def add_all(self, observations: Iterable[Observation]) -> None:
        for item in observations:
            self.add(item.jurisdiction, item.name, item.observed_on)

    def peak_count(self, jurisdiction: str, name: str, on: date) -> int:
        """The most new-home permits of ``name`` in any window of ``window_days`` that
        contains ``on``. In the stream nothing later than ``on`` is known yet, so it is the
        count of the window ending on ``on``; a backfill also sees the permits after it."""
        days = self.days.get((jurisdiction, name))
        if not days:
            return 0
        width = self.settings.window_days
        day = on.toordinal()
        # A window [end - width + 1, end] contains ``day`` for end in [day, day + width - 1];
        # its count changes only at ends that are observation days.
        ends = [day, *days[bisect.bisect_left(days, day) : bisect.bisect_left(days, day + width)]]
        return max(
            bisect.bisect_right(days, end) - bisect.bisect_left(days, end - width + 1)
            for end in ends
        )

    def flag(self, jurisdiction: str, name: str, on: date) -> Flag | None:
        """The registry's verdict on one normalised name, without the rules' own words."""
        verdict = self.overrides.get(name)
        if verdict == VERDICT_ALLOWED:
            return None
        if verdict == VERDICT_BUILDER:
            return Flag(name, f"builder:{name} (added by an operator)")
        count = self.peak_count(jurisdiction, name, on)
        if count < self.settings.min_new_homes:
            return None
        return Flag(
            name,
            f"builder:{name} {count} new homes in {jurisdiction}"
            f" within {self.settings.window_days} days",
        )

    def pairs_at_threshold(self) -> list[tuple[str, str, int]]:
        """(jurisdiction, name, peak count over any window) of every name the counts flag."""
        flagged = []
        for (jurisdiction, name), days in self.days.items():
            peak = _peak_any_window(days, self.settings.window_days)
            if peak >= self.settings.min_new_homes:
                flagged.append((jurisdiction, name, peak))
        return sorted(flagged, key=lambda row: (row[0], -row[2], row[1]))


def _peak_any_window(days: list[int], width: int) -> int:
    best, start = 0, 0
    for end, day in enumerate(days):
        while days[start] <= day - width:
            start += 1
        best = max(best, end - start + 1)
    return best


def learn(observations: Iterable[Observation], settings: BuilderSettings) -> KnownBuilders:
    """An in-memory registry from observations, once per (permit, name) as the table keeps them."""
    known = KnownBuilders(settings)
    seen: set[tuple[str, str]] = set()
    for item in observations:
        if (item.permit_key, item.name) not in seen:
            seen.add((item.permit_key, item.name))
            known.add(item.jurisdiction, item.name, item.observed_on)
    return known


def registry_flag(
    rules: Rules, known: KnownBuilders, jurisdiction: str, name: str, on: date
) -> Flag | None:
    """The registry's verdict on a permit's applicant or contractor name."""
    normalised = normalise_name(name)
    if normalised is None:
        return None
    if known.overrides.get(normalised) is None and says_not_builder(rules.builder_names, name):
        return None
    return known.flag(jurisdiction, normalised, on)


def allowed(known: KnownBuilders | None, name: str) -> bool:
    """An operator said this name is not a production builder."""
    if known is None:
        return False
    normalised = normalise_name(name)
    return normalised is not None and known.overrides.get(normalised) == VERDICT_ALLOWED
