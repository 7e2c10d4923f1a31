"""Permit + rules + clock → a categorised permit or a discard with its reason (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

from schemas.discards import DiscardedPermit
from schemas.permits import Categorization, CategorizedPermit, RawPermit
from schemas.taxonomy import Category, TradeGroup
from services.categorizer.builders import (
    KnownBuilders,
    Observation,
    firm_of,
    normalise_name,
    permit_date,
)
from services.categorizer.permit_names import (
    FIRM_FIELDS,
    LotOwner,
    lot_owner,
    owner_commercial,
    production_builder,
)
from services.categorizer.rule_book import JunkScope, PhraseGroup, Rules
from services.common.phrases import Hit, words

STAGE = "categorizer"
# Structured fields read as evidence, in the order they are trusted for residential/commercial.
EVIDENCE_FIELDS = ("permit_type", "permit_class", "work_type")
# Field words sort after every description word: the description decides ties.
_FIELD_POSITION = 1_000_000
# Tags name other sellable trades: these groups are never a tag, and an unsellable permit
# (demolition, temporary, signage) has no tags.
_NOT_TAGS = frozenset({TradeGroup.UNSELLABLE, TradeGroup.OTHER})

FLAG_ISSUED_DATE_UNKNOWN = "issued_date_unknown"
FLAG_ISSUED_AFTER_AS_OF = "issued_after_as_of"
FLAG_NO_DESCRIPTION = "no_description"
FLAG_NO_EVIDENCE = "no_category_evidence"
# Evidence at or below this priority is weak: a bare trade permit type ("Electrical"), a vague
# work word ("remodel", "Addition"). A decision resting on it is low confidence.
WEAK_PRIORITY = 30


_Evidence = Hit[PhraseGroup]


@dataclass
class _Standing:
    """How strongly the evidence points at one category."""

    priority: int
    count: int
    decider: _Evidence  # the earliest hit at that priority


def categorize(
    permit: RawPermit, rules: Rules, as_of: datetime, builders: KnownBuilders | None = None
) -> CategorizedPermit | DiscardedPermit:
    """Decide the trade of a permit, or why it will not become a lead.

    ``as_of`` is the clock freshness is judged against (the message's ``scraped_at`` in the
    pipeline); it is also the discard time, so the same input always gives the same output.
    ``builders`` is the builder registry learned from the permits (None: the rules' list only).
    Discard precedence: invalid > production_builder > junk > stale.
    """
    return decide(read_permit(permit, rules, as_of), rules, builders)


@dataclass(slots=True)  # not frozen: one is made per permit, and frozen fields cost to set
class Reading:
    """What the rules read in a permit before any discard is decided."""

    permit: RawPermit
    base: Category  # the category before its commercial variant
    category: Category
    commercial: bool
    fields: tuple[_Evidence, ...]
    evidence: tuple[_Evidence, ...]
    standing: dict[Category, _Standing]
    decider: _Evidence | None
    commercial_evidence: _Evidence | None
    new_home_of: LotOwner | None
    tags: list[Category]
    tag_evidence: list[_Evidence]
    days_old: int | None
    as_of: datetime
    flags: list[str]


def read_permit(permit: RawPermit, rules: Rules, as_of: datetime) -> Reading:
    description = _description_hits(rules, permit.work_description)
    fields = tuple(
        [
            evidence
            for index, name in enumerate(EVIDENCE_FIELDS)
            for evidence in _field_hits(rules, index, getattr(permit, name))
        ]
    )
    names = [
        evidence
        for index, name in enumerate(FIRM_FIELDS)
        for evidence in _firm_hits(rules, index, getattr(permit, name))
    ]
    evidence = (*description, *fields, *names)

    standing = _standings(evidence)
    base = max(
        standing,
        key=lambda c: (standing[c].priority, standing[c].count, -standing[c].decider.position),
        default=Category.OTHER,
    )
    decider = standing[base].decider if base in standing else None
    commercial, commercial_evidence = _commercial(fields, description)
    if commercial_evidence is None:
        commercial, commercial_evidence = owner_commercial(permit, rules)
    weak = decider is None or decider.value.priority <= WEAK_PRIORITY
    new_home_of = None
    if weak and not commercial and any(item.value.sub_permit for item in fields):
        # A trade sub-permit on a builder's, developer's or company's lot, with no project of
        # its own in the description: the trade work of the house being built there.
        new_home_of = lot_owner(permit, rules)
        if new_home_of is not None:
            base = Category.NEW_CONSTRUCTION
    category = rules.commercial_variants.get(base, base) if commercial else base
    tags, tag_evidence = _tags(description, base, category, commercial, rules)

    as_of_date = as_of.date()
    days_old = (as_of_date - permit.issued_date).days if permit.issued_date else None
    flags = []
    if days_old is None:
        flags.append(FLAG_ISSUED_DATE_UNKNOWN)
    elif days_old < 0:
        flags.append(FLAG_ISSUED_AFTER_AS_OF)
    if permit.work_description is None:
        flags.append(FLAG_NO_DESCRIPTION)
    if decider is None:
        flags.append(FLAG_NO_EVIDENCE)
    return Reading(
        permit=permit,
        base=base,
        category=category,
        commercial=commercial,
        fields=fields,
        evidence=evidence,
        standing=standing,
        decider=decider,
        commercial_evidence=commercial_evidence,
        new_home_of=new_home_of,
        tags=tags,
        tag_evidence=tag_evidence,
        days_old=days_old,
        as_of=as_of,
        flags=flags,
    )


def new_home_observation(reading: Reading) -> Observation | None:
    """The registry's row for a permit that builds a new home, filed by a firm: not a
    commercial building, not a trade or site permit under the house's building permit (its
    firm is the electrician or the concrete company), not a sub-permit read as a new home from
    its lot's owner."""
    if reading.base is not Category.NEW_CONSTRUCTION or reading.commercial:
        return None
    if reading.new_home_of is not None:
        return None
    if any(
        item.source == EVIDENCE_FIELDS[0]
        and item.value.category not in (None, Category.NEW_CONSTRUCTION)
        for item in reading.fields
    ):
        return None
    permit = reading.permit
    firm, on = firm_of(permit), permit_date(permit)
    name = normalise_name(firm) if firm else None
    if name is None or on is None:
        return None
    return Observation(name, permit.jurisdiction, permit.key, on)


def observations_of(permits: Iterable[RawPermit], rules: Rules) -> Iterator[Observation]:
    """The registry's rows for the new-home permits among ``permits`` (what a backfill learns).

    Which permits build a new home does not depend on the clock, so any ``as_of`` will do."""
    for permit in permits:
        observation = new_home_observation(read_permit(permit, rules, _ANY_TIME))
        if observation is not None:
            yield observation


_ANY_TIME = datetime(2000, 1, 1, tzinfo=UTC)


def decide(
    reading: Reading, rules: Rules, builders: KnownBuilders | None = None
) -> CategorizedPermit | DiscardedPermit:
    """The discard, if any, of a permit as read; the registry says who else is a builder."""
    permit, base, new_home_of = reading.permit, reading.base, reading.new_home_of
    builder = production_builder(permit, base, rules, builders, reading.as_of)
    # Work on a builder's lot that names no project of its own is the builder's.
    if builder is None and (new_home_of is not None or not permit.work_description):
        owner = new_home_of or lot_owner(permit, rules)
        if owner is not None and (new_home_of is not None or owner.builder):
            builder = f"{permit.owner_name!r} ({owner.phrase!r}) owns the lot"
    junk = _junk(reading.evidence, reading.decider)
    shown = [
        reading.decider,
        reading.commercial_evidence,
        *reading.tag_evidence,
        junk[1] if junk else None,
    ]
    shown_text = list(dict.fromkeys(str(e) for e in shown if e is not None))
    if new_home_of is not None:
        shown_text.insert(0, f"sub-permit on the lot of owner_name:{new_home_of.phrase}")
    if builder is not None:
        shown_text.append(builder)
    shown_text.append(_confidence(reading.decider, reading.standing, base, new_home_of))

    as_of, as_of_date = reading.as_of, reading.as_of.date()
    categorization = Categorization(
        category=reading.category,
        trade_group=rules.trade_groups[reading.category],
        is_commercial=reading.commercial,
        tags=reading.tags,
        evidence=shown_text,
        days_old=reading.days_old,
        as_of=as_of_date,
        flags=reading.flags,
        rules_version=rules.version,
    )

    verdict = _discard(permit, builder, junk, reading.days_old, as_of_date, rules)
    if verdict is None:
        return CategorizedPermit(permit=permit, categorization=categorization)
    reason, detail = verdict
    return DiscardedPermit(
        permit=permit,
        reason=reason,
        detail=detail[:1000],
        stage=STAGE,
        rules_version=rules.version,
        categorization=categorization,
        discarded_at=as_of,
    )


def _confidence(
    decider: _Evidence | None,
    standing: dict[Category, _Standing],
    base: Category,
    new_home_of: LotOwner | None,
) -> str:
    """How sure the decision is, as an evidence entry: ``confidence:high`` or
    ``confidence:low (why)``. Low when nothing, or only weak evidence, decided the category,
    or when another category had evidence just as strong. A sub-permit read as a new home is
    high only when a builder is named on the lot."""
    if new_home_of is not None:
        if new_home_of.named:
            return "confidence:high"
        return f"confidence:low (a new home inferred from the lot's owner: {new_home_of.phrase})"
    if decider is None:
        return "confidence:low (no category evidence)"
    if decider.value.priority <= WEAK_PRIORITY:
        return f"confidence:low (only weak evidence: {decider})"
    rivals = sorted(
        category.value
        for category, other in standing.items()
        if category != base and other.priority == standing[base].priority
    )
    if rivals:
        return f"confidence:low (as strong: {', '.join(rivals)})"
    return "confidence:high"


def _discard(
    permit: RawPermit,
    builder: str | None,
    junk: tuple[str, _Evidence] | None,
    days_old: int | None,
    as_of: date,
    rules: Rules,
) -> tuple[str, str] | None:
    """(reason, detail) by precedence invalid > production_builder > junk > stale, or None."""
    if permit.property_address is None and permit.parcel_id is None:
        return "invalid", "no property address and no parcel id: nowhere to sell"
    if builder is not None:
        return "production_builder", f"production builder: {builder}"
    if junk is not None:
        kind, why = junk
        return f"junk:{kind}", f"junk project ({kind.replace('_', ' ')}): {why}"
    if days_old is not None and days_old > rules.stale_after_days:
        return "stale", (
            f"issued {permit.issued_date} is {days_old} days before {as_of}"
            f" (limit {rules.stale_after_days})"
        )
    return None


@lru_cache(maxsize=8_192)
def _description_hits(rules: Rules, text: str | None) -> tuple[_Evidence, ...]:
    """Descriptions repeat (boilerplate of volume builders, trade change-outs): the recent
    ones are read once."""
    return tuple(rules.description.find(words(text), 0, "description")) if text else ()


@lru_cache(maxsize=8_192)
def _field_hits(rules: Rules, index: int, text: str | None) -> tuple[_Evidence, ...]:
    """Portals repeat a small set of type/class values: each is read once."""
    if not text:
        return ()
    offset = _FIELD_POSITION * (index + 1)
    return tuple(rules.fields.find(words(text), offset, EVIDENCE_FIELDS[index]))


@lru_cache(maxsize=8_192)
def _firm_hits(rules: Rules, index: int, text: str | None) -> tuple[_Evidence, ...]:
    """Contractors file many permits each: each name is read once. Names sort after the
    portal's fields."""
    if not text:
        return ()
    offset = _FIELD_POSITION * (len(EVIDENCE_FIELDS) + index + 1)
    return tuple(rules.contractor_names.find(words(text), offset, FIRM_FIELDS[index]))


def _standings(evidence: Sequence[_Evidence]) -> dict[Category, _Standing]:
    standing: dict[Category, _Standing] = {}
    for item in evidence:
        category, priority = item.value.category, item.value.priority
        if category is None:
            continue
        current = standing.get(category)
        if current is None or priority > current.priority:
            standing[category] = _Standing(priority, 1, item)
        elif priority == current.priority:
            current.count += 1
    return standing


def _commercial(
    fields: Sequence[_Evidence], description: Sequence[_Evidence]
) -> tuple[bool, _Evidence | None]:
    """The portal's own residential/commercial class wins; else the first word that says."""
    for item in (*fields, *description):
        if item.value.commercial is not None:
            return item.value.commercial, item
    return False, None


def _tags(
    description: Sequence[_Evidence],
    base: Category,
    category: Category,
    commercial: bool,
    rules: Rules,
) -> tuple[list[Category], list[_Evidence]]:
    """Other sellable trades the description clearly names, in the order it names them."""
    tags: list[Category] = []
    shown: list[_Evidence] = []
    if rules.trade_groups[base] is TradeGroup.UNSELLABLE:
        return tags, shown
    excluded = rules.never_tags | rules.tags_not_with.get(base, frozenset())
    for item in description:
        tag = item.value.category
        if (
            tag is None
            or tag == base
            or tag in excluded
            or item.value.priority < rules.tag_min_priority
            or rules.trade_groups[tag] in _NOT_TAGS
        ):
            continue
        if commercial:
            tag = rules.commercial_variants.get(tag, tag)
        if tag != category and tag not in tags:
            tags.append(tag)
            shown.append(item)
    return tags, shown


def _junk(evidence: Sequence[_Evidence], decider: _Evidence | None) -> tuple[str, _Evidence] | None:
    """The junk kind, if the main work is junk or a junk-anywhere phrase is present."""
    if decider is not None and decider.value.junk is not None:
        scope = decider.value.junk_if
        replaced = any(item.value.replacement for item in evidence)
        if scope is JunkScope.PRIMARY or (scope is JunkScope.PRIMARY_REPLACED and replaced):
            return decider.value.junk, decider
    for item in evidence:
        if item.value.junk is not None and item.value.junk_if is JunkScope.ANYWHERE:
            return item.value.junk, item
    return None
