"""What the names on a permit say (pure): who built the work (a production builder named by the
rules' list and name shapes or by the builder registry, or the company that owns the lot), and
whether a church, school, hospital or government owns the property."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from schemas.permits import RawPermit
from schemas.taxonomy import Category
from services.categorizer.builders import KnownBuilders, allowed, permit_date, registry_flag
from services.categorizer.rule_book import PhraseGroup, Rules
from services.common.phrases import Hit, words
from services.common.production_builders import built_in_builder

NAME_FIELDS = ("applicant_name", "contractor_name", "owner_name")
# Names of the firm doing the work, read for its trade ("… Custom Decks Inc").
FIRM_FIELDS = ("contractor_name", "applicant_name")


@dataclass(frozen=True)
class LotOwner:
    """A company owns the lot: a named builder, a builder's or land developer's name shape,
    or just a company (not a person)."""

    phrase: str
    builder: bool  # a builder or land developer, not merely a company
    named: bool  # a named production builder


def lot_owner(permit: RawPermit, rules: Rules) -> LotOwner | None:
    return _lot_owner_of(rules, permit.owner_name) if permit.owner_name else None


@lru_cache(maxsize=8_192)
def _lot_owner_of(rules: Rules, owner_name: str) -> LotOwner | None:
    """Builders and land banks own many lots: each name is read once."""
    signals = {hit.value: hit.phrase for hit in rules.lot_owner_names.find(words(owner_name))}
    if "named" in signals:
        return LotOwner(signals["named"], builder=True, named=True)
    if "not_builder" in signals:
        return None
    if "," in owner_name and not signals.keys() & {"pattern", "company"}:
        return None  # "HOMES, TAYLOR": a person written last name first
    for signal in ("pattern", "lot_owner"):
        if signal in signals:
            return LotOwner(signals[signal], builder=True, named=False)
    if "company" in signals:
        return LotOwner(signals["company"], builder=False, named=False)
    return None


def production_builder(
    permit: RawPermit,
    base: Category,
    rules: Rules,
    builders: KnownBuilders | None,
    as_of: datetime,
) -> str | None:
    """Who the production builder is ("'kb home' in contractor_name"), if one built this.

    The rules' named builders are the floor; a builder's name shape counts unless an operator
    allowed the name; then the registry's counts and operators' additions for the firm names.
    """
    if base not in rules.builder_scope:
        return None
    for name_field in NAME_FIELDS:
        name = getattr(permit, name_field)
        if not name:
            continue
        found = built_in_builder(rules.builder_names, name)
        if found is not None and (found.listed or not allowed(builders, name)):
            return f"{found} in {name_field}"
    if builders is not None:
        on = permit_date(permit) or as_of.date()
        for name_field in FIRM_FIELDS:
            name = getattr(permit, name_field)
            flag = registry_flag(rules, builders, permit.jurisdiction, name, on) if name else None
            if flag is not None:
                return flag.evidence
    if permit.work_description:
        for hit in rules.builder_description.find(words(permit.work_description)):
            if hit.value == "named":
                return f"{hit.phrase!r} in the description"
    return None


def owner_commercial(permit: RawPermit, rules: Rules) -> tuple[bool, Hit[PhraseGroup] | None]:
    """A church, school, hospital or government owns the property."""
    if permit.owner_name and rules.owner_commercial:
        return _owner_commercial_of(rules, permit.owner_name)
    return False, None


@lru_cache(maxsize=8_192)
def _owner_commercial_of(rules: Rules, owner_name: str) -> tuple[bool, Hit[PhraseGroup] | None]:
    for hit in rules.owner_commercial.find(words(owner_name)):
        return True, Hit(hit.position, hit.phrase, _OWNER_COMMERCIAL, "owner_name")
    return False, None


_OWNER_COMMERCIAL = PhraseGroup(phrases=["owner"], commercial=True)
