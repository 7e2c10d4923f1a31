"""Production builders known by name: the rules file's builder section, and the check of one
firm or owner name against it.

Two stages ask: the categorizer about a permit's applicant and contractor, the enricher about
the appraisal-district owner. Both read the ``production_builders`` section of the one reviewed
rules file (``services/categorizer/rules.yaml``, docs/categorizer.md), so a rules change reaches
both at once, and both check a name with the same code, here, not in either stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.taxonomy import Category
from services.common.messages import describe_problems
from services.common.phrases import PhraseSyntaxError, PhraseTable, words

RULES_PATH = Path(__file__).parents[1] / "categorizer" / "rules.yaml"

BuilderSignal = Literal["named", "pattern", "not_builder", "lot_owner", "company"]
BuilderNames = PhraseTable[BuilderSignal]


class RulesError(Exception):
    """The rules file cannot be used; the message names the file and the problem."""


class ProductionBuilderRules(BaseModel):
    """The rules file's ``production_builders`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    applies_to: list[Category] = Field(min_length=1)
    names: list[str] = Field(min_length=1)
    name_patterns: list[str] = Field(default_factory=list)
    not_builders: list[str] = Field(default_factory=list)
    description_flags: list[str] = Field(default_factory=list)
    # Read in the owner's name only, on permits that name no project of their own (a trade
    # sub-permit, a permit without description): the lot is a builder's or land developer's.
    lot_owner_patterns: list[str] = Field(default_factory=list)
    # Words that make an owner's name a company's rather than a person's.
    company_words: list[str] = Field(default_factory=list)

    def name_table(self) -> BuilderNames:
        """The phrases a firm's or owner's name is checked against (:func:`built_in_builder`)."""
        table: BuilderNames = PhraseTable()
        for pattern in self.names:
            table.add(pattern, "named")
        for pattern in self.name_patterns:
            table.add(pattern, "pattern")
        for pattern in self.not_builders:
            table.add(pattern, "not_builder")
        return table.freeze()


@dataclass(frozen=True)
class BuiltIn:
    """A name the rules' own list catches: a listed builder, or a builder's name shape."""

    name: str
    phrase: str
    listed: bool  # on the list of builders (the floor), not merely shaped like one

    def __str__(self) -> str:
        return repr(self.phrase) if self.listed else f"{self.name!r} ({self.phrase!r})"


def built_in_builder(names: BuilderNames, name: str) -> BuiltIn | None:
    """A listed builder's phrase in ``name``, or a builder's name shape ("… Homes LLC")
    without a custom/remodeler word; else None."""
    signals = _name_signals(names, name)
    if "named" in signals:
        return BuiltIn(name, signals["named"], listed=True)
    if "pattern" in signals and "not_builder" not in signals:
        return BuiltIn(name, signals["pattern"], listed=False)
    return None


def says_not_builder(names: BuilderNames, name: str) -> bool:
    """The name says custom, boutique, luxury, remodeler, a plan reviewer …: never learned."""
    signals = _name_signals(names, name)
    return "not_builder" in signals and "named" not in signals


@lru_cache(maxsize=16_384)
def _name_signals(names: BuilderNames, name: str) -> Mapping[str, str]:
    return {hit.value: hit.phrase for hit in names.find(words(name))}


def read_rules_document(path: Path) -> Any:
    """The rules file's YAML document; RulesError when it cannot be read or parsed."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"categorizer rules {path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise RulesError(f"categorizer rules {path}: not valid YAML: {exc}") from exc


def rules_problem(path: Path, exc: ValidationError | PhraseSyntaxError) -> RulesError:
    """The RulesError naming the file and what is wrong in it."""
    if isinstance(exc, ValidationError):
        problems = describe_problems(
            exc.errors(include_url=False, include_input=False), whole="file"
        )
        return RulesError(f"categorizer rules {path}: {problems}")
    return RulesError(f"categorizer rules {path}: {exc}")
