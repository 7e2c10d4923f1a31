"""The rules file: the shipped one loads; a broken one fails at start-up, saying what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.taxonomy import Category
from services.categorizer import service
from services.categorizer.rule_book import DEFAULT_RULES_PATH, RulesError, load_rules

SHIPPED = DEFAULT_RULES_PATH.read_text(encoding="utf-8")


def broken(tmp_path: Path, old: str, new: str) -> Path:
    assert old in SHIPPED, old
    path = tmp_path / "rules.yaml"
    path.write_text(SHIPPED.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_shipped_rules_load_with_a_trade_group_for_every_category() -> None:
    rules = load_rules()
    assert rules.version
    assert set(rules.trade_groups) == set(Category)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("stale_after_days: 90", "stale_after_days: [90", "not valid YAML"),
        ("  - category: pool\n", "  - category: pools\n", "category: Input should be"),
        ("  painting: home_exterior\n", "", "taxonomy has no trade group for: painting"),
        ("stale_after_days: 90", "stale_after_days: 0", "stale_after_days"),
        ("      - hot tub\n", "      - hot tub\n      - (new|\n", "unexpected '('"),
        ("      - hot tub\n", "      - hot tub\n      - patio\n", "'patio'"),
        ("    priority: 90\n", "    priority: 0\n", "needs a priority"),
    ],
    ids=[
        "yaml",
        "unknown-category",
        "taxonomy-gap",
        "freshness",
        "pattern",
        "duplicate",
        "priority",
    ],
)
def test_a_broken_rules_file_fails_with_the_file_and_the_problem(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = broken(tmp_path, old, new)
    with pytest.raises(RulesError) as raised:
        load_rules(path)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_the_service_refuses_to_start_on_a_broken_rules_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = broken(tmp_path, "  - category: pool\n", "  - category: pools\n")
    monkeypatch.setenv("LEADSTREAM_CATEGORIZER_RULES_PATH", str(path))
    with pytest.raises(SystemExit) as stopped:
        service.main()
    assert "categorizer: refusing to start" in str(stopped.value)
    assert str(path) in str(stopped.value)
