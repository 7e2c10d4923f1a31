"""The categorizer's rules: one reviewed data file (``rules.yaml``), checked and compiled once.

A broken file fails at start-up with the file name and what is wrong, never at the first
permit that happens to need the broken rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.taxonomy import Category, TradeGroup
from services.common.phrases import PhraseSyntaxError, PhraseTable
from services.common.production_builders import (
    RULES_PATH,
    BuilderNames,
    BuilderSignal,
    ProductionBuilderRules,
    read_rules_document,
    rules_problem,
)
from services.common.production_builders import RulesError as RulesError  # what load_rules raises

DEFAULT_RULES_PATH = RULES_PATH


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JunkScope(StrEnum):
    ANYWHERE = "anywhere"  # junk wherever the phrase appears
    PRIMARY = "primary"  # junk when this phrase decides the primary category
    PRIMARY_REPLACED = "primary_replaced"  # ... and the permit replaces something


class PhraseGroup(_Strict):
    """Phrases that mean the same thing, and what they are evidence of."""

    phrases: list[str] = Field(min_length=1)
    category: Category | None = None
    priority: int = Field(default=0, ge=0, le=100)
    junk: str | None = Field(default=None, pattern=r"^[a-z_]+$")
    junk_if: JunkScope | None = None
    commercial: bool | None = None
    replacement: bool = False
    # The permit hangs under a building permit filed earlier (Fort Worth's "Umbrella" trade
    # permits): its trade is part of a larger project the permit itself does not name.
    sub_permit: bool = False
    ignore: bool = False

    @model_validator(mode="after")
    def _one_meaning(self) -> PhraseGroup:
        if self.ignore and (
            self.category or self.junk or self.replacement or self.commercial or self.sub_permit
        ):
            raise ValueError("an ignore group carries no other meaning")
        if self.category is not None and self.priority == 0:
            raise ValueError("a category group needs a priority (1-100)")
        if self.category is None and self.priority:
            raise ValueError("priority is only meaningful with a category")
        if self.junk is not None and self.junk_if is None:
            raise ValueError("a junk group needs junk_if: anywhere, primary or primary_replaced")
        if self.junk_if not in (None, JunkScope.ANYWHERE) and self.category is None:
            raise ValueError(f"junk_if: {self.junk_if} needs the group's category")
        meaningful = (
            self.ignore
            or self.category
            or self.junk
            or self.replacement
            or self.sub_permit
            or self.commercial is not None
        )
        if not meaningful:
            raise ValueError(
                "the group says nothing: give a category, junk, commercial, replacement,"
                " sub_permit or ignore"
            )
        return self


class TagRules(_Strict):
    min_priority: int = Field(ge=0, le=100)
    never: list[Category] = Field(default_factory=list)
    not_with: dict[Category, list[Category]] = Field(default_factory=dict)


class RulesFile(_Strict):
    rules_version: str = Field(min_length=1, max_length=64)
    stale_after_days: int = Field(gt=0)
    taxonomy: dict[Category, TradeGroup]
    commercial_variants: dict[Category, Category]
    tags: TagRules
    production_builders: ProductionBuilderRules
    description: list[PhraseGroup]
    fields: list[PhraseGroup]
    # Words in the owner's name that say the property is not a home (church, school, hospital,
    # a city): read only when neither the portal's fields nor the description say.
    owner_commercial: list[str] = Field(default_factory=list)
    # Trade words in the contractor's or applicant's firm name.
    contractor_names: list[PhraseGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete_taxonomy(self) -> RulesFile:
        missing = sorted(set(Category) - set(self.taxonomy))
        if missing:
            raise ValueError(f"taxonomy has no trade group for: {', '.join(missing)}")
        return self


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per load
class Rules:
    """The compiled rules ``categorize`` runs on."""

    version: str
    stale_after_days: int
    tag_min_priority: int
    trade_groups: Mapping[Category, TradeGroup]
    commercial_variants: Mapping[Category, Category]
    never_tags: frozenset[Category]
    tags_not_with: Mapping[Category, frozenset[Category]]
    description: PhraseTable[PhraseGroup]
    fields: PhraseTable[PhraseGroup]
    builder_scope: frozenset[Category]
    builder_names: BuilderNames
    builder_description: PhraseTable[BuilderSignal]
    # named, pattern, not_builder, lot_owner and company signals, for the owner's name
    lot_owner_names: PhraseTable[BuilderSignal]
    owner_commercial: PhraseTable[bool]
    contractor_names: PhraseTable[PhraseGroup]


def load_rules(path: Path = DEFAULT_RULES_PATH) -> Rules:
    document = read_rules_document(path)
    try:
        return compile_rules(RulesFile.model_validate(document))
    except (ValidationError, PhraseSyntaxError) as exc:
        raise rules_problem(path, exc) from exc


def compile_rules(rules: RulesFile) -> Rules:
    builders = rules.production_builders
    builder_description: PhraseTable[BuilderSignal] = PhraseTable()
    for pattern in builders.names:
        builder_description.add(pattern, "named")
    for pattern in builders.not_builders:
        builder_description.add(pattern, "not_builder")
    for pattern in builders.description_flags:
        builder_description.add(pattern, "named")
    lot_owner_names: PhraseTable[BuilderSignal] = PhraseTable()
    for signal, patterns in (
        ("named", builders.names),
        ("pattern", builders.name_patterns),
        ("lot_owner", builders.lot_owner_patterns),
        ("not_builder", builders.not_builders),
        ("company", builders.company_words),
    ):
        for pattern in patterns:
            lot_owner_names.add(pattern, signal)  # type: ignore[arg-type]
    owner_commercial: PhraseTable[bool] = PhraseTable()
    for pattern in rules.owner_commercial:
        owner_commercial.add(pattern, True)
    return Rules(
        version=rules.rules_version,
        stale_after_days=rules.stale_after_days,
        tag_min_priority=rules.tags.min_priority,
        trade_groups=dict(rules.taxonomy),
        commercial_variants=dict(rules.commercial_variants),
        never_tags=frozenset(rules.tags.never),
        tags_not_with={c: frozenset(tags) for c, tags in rules.tags.not_with.items()},
        description=_phrase_table(rules.description, "description"),
        fields=_phrase_table(rules.fields, "fields"),
        builder_scope=frozenset(builders.applies_to),
        builder_names=builders.name_table(),
        builder_description=builder_description.freeze(),
        lot_owner_names=lot_owner_names.freeze(),
        owner_commercial=owner_commercial.freeze(),
        contractor_names=_phrase_table(rules.contractor_names, "contractor_names"),
    )


def _phrase_table(groups: list[PhraseGroup], section: str) -> PhraseTable[PhraseGroup]:
    table: PhraseTable[PhraseGroup] = PhraseTable()
    for index, group in enumerate(groups):
        for pattern in group.phrases:
            try:
                table.add(pattern, group)
            except PhraseSyntaxError as exc:
                raise PhraseSyntaxError(f"{section}.{index}: {exc}") from exc
    return table.freeze()
