"""The categorizer's production-builder rules, asked about an appraisal-district owner name.

The builder list (names, name shapes such as "Homes LLC", and the custom builders that are not
production builders) lives in the categorizer's one reviewed rules file, and the check is the
categorizer's own (``services/categorizer/builders.py``), so a rules change reaches both stages
at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from schemas.taxonomy import Category
from services.categorizer.builders import built_in_builder
from services.categorizer.rule_book import DEFAULT_RULES_PATH, Rules, load_rules


@dataclass(frozen=True)
class ProductionBuilders:
    rules: Rules

    @classmethod
    def load(cls, path: Path = DEFAULT_RULES_PATH) -> ProductionBuilders:
        return cls(load_rules(path))

    @property
    def rules_version(self) -> str:
        return self.rules.version

    def owner_is_builder(self, owner_name: str, category: Category) -> str | None:
        """The rule phrase that makes ``owner_name`` a production builder, for the categories
        the rules apply builders to; ``None`` for anyone else."""
        if category not in self.rules.builder_scope:
            return None
        found = built_in_builder(self.rules, owner_name)
        return found.phrase if found is not None else None
