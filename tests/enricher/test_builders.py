"""The enricher reads the same production builders from the rules file as the categorizer,
and refuses a file it cannot use the way the enricher's start-up expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.taxonomy import Category
from services.categorizer.rule_book import DEFAULT_RULES_PATH, RulesError, load_rules
from services.common.production_builders import built_in_builder
from services.enricher.builders import ProductionBuilders

OWNERS = [
    ("KB HOME LONE STAR INC", "kb home"),  # a listed builder
    ("D.R. Horton - Texas, Ltd.", "d r horton"),
    ("Sunrise Homes LLC", "homes llc"),  # a builder's name shape
    ("Sunrise Custom Homes LLC", None),  # ... that says custom
    ("MARIA GONZALEZ", None),
]


@pytest.mark.parametrize(("owner", "phrase"), OWNERS)
def test_an_owner_is_a_production_builder_exactly_when_the_categorizer_says_so(
    owner: str, phrase: str | None
) -> None:
    builders, rules = ProductionBuilders.load(), load_rules()
    found = built_in_builder(rules.builder_names, owner)

    assert builders.owner_is_builder(owner, Category.NEW_CONSTRUCTION) == phrase
    assert (found.phrase if found else None) == phrase
    assert builders.rules_version == rules.version


def test_only_the_categories_the_rules_apply_builders_to_are_checked() -> None:
    builders = ProductionBuilders.load()
    assert builders.owner_is_builder("KB HOME LONE STAR INC", Category.ROOF) is None


def test_a_broken_builder_section_is_refused_naming_the_file_and_the_field(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "rules.yaml"
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    broken.write_text(text.replace("applies_to: [new_construction]", "applies_to: []"))

    # The class the enricher's main() catches to refuse to start in one line.
    with pytest.raises(RulesError) as refused:
        ProductionBuilders.load(broken)
    assert str(refused.value).startswith(f"categorizer rules {broken}: ")
    assert "production_builders.applies_to" in str(refused.value)
