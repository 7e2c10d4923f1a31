"""The rules' production builders, asked about an appraisal-district owner name.

The builder list (names, name shapes such as "Homes LLC", and the custom builders that are not
production builders) is the ``production_builders`` section of the categorizer's one reviewed
rules file, and the check of a name is shared with the categorizer
(``services/common/production_builders.py``), so a rules change reaches both stages at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.taxonomy import Category
from services.common.phrases import PhraseSyntaxError
from services.common.production_builders import (
    RULES_PATH,
    BuilderNames,
    ProductionBuilderRules,
    built_in_builder,
    read_rules_document,
    rules_problem,
)


class _BuilderSection(BaseModel):
    """What the enricher reads of the rules file; the categorizer checks the rest."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    rules_version: str = Field(min_length=1, max_length=64)
    production_builders: ProductionBuilderRules


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per load
class ProductionBuilders:
    rules_version: str
    scope: frozenset[Category]
    names: BuilderNames

    @classmethod
    def load(cls, path: Path = RULES_PATH) -> ProductionBuilders:
        """RulesError (naming the file and the problem) when the file or its builder section
        cannot be used."""
        try:
            section = _BuilderSection.model_validate(read_rules_document(path))
            return cls(
                rules_version=section.rules_version,
                scope=frozenset(section.production_builders.applies_to),
                names=section.production_builders.name_table(),
            )
        except (ValidationError, PhraseSyntaxError) as exc:
            raise rules_problem(path, exc) from exc

    def owner_is_builder(self, owner_name: str, category: Category) -> str | None:
        """The rule phrase that makes ``owner_name`` a production builder, for the categories
        the rules apply builders to; ``None`` for anyone else."""
        if category not in self.scope:
            return None
        found = built_in_builder(self.names, owner_name)
        return found.phrase if found is not None else None
