"""What ships in the container image (schemas/, services/, localinfra/; see .dockerignore)
imports nothing from tests/ or bench/, which the image leaves out."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("schemas", "services", "localinfra")
LEFT_OUT = ("tests", "bench")


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level package) of every import, at module level or inside a function."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", SHIPPED)
def test_no_shipped_module_imports_tests_or_bench(package: str) -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _modules(package)
        for line, name in _imported(ast.parse(path.read_text(encoding="utf-8")))
        if name in LEFT_OUT
    ]
    assert offending == []


def test_the_scan_sees_an_import_inside_a_function() -> None:
    tree = ast.parse("def seed():\n    from tests.notifier.seeds import add_buyer\n")
    assert _imported(tree) == [(2, "tests")]


def test_every_localinfra_module_imports_as_the_image_has_it(tmp_path: Path) -> None:
    # A tree with only what the image copies: tests/ and bench/ cannot be found at all.
    for package in SHIPPED:
        (tmp_path / package).symlink_to(ROOT / package, target_is_directory=True)
    modules = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in _modules("localinfra")
        if path.stem != "__main__"
    ]
    probe = (
        "import importlib, importlib.util, sys\n"
        "assert importlib.util.find_spec('tests') is None, 'tests/ is importable'\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(len(sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
