"""Settings are read from the environment once per process, where it starts, and passed down.

Reading them is constructing a settings class with no arguments (``KafkaSettings()``); that is
allowed only in a process's ``main()`` and in the CLI's command entry points (the functions a
module registers with ``set_defaults(func=...)``), and in what those define inside them. A
library function that builds its own settings (``kafka or KafkaSettings()``) hides an
environment read from its callers and from the tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Where a no-argument construction may stay, each with the reason (none today).
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


def command_entry_points(tree: ast.Module) -> set[str]:
    """Names of the functions a command module registers with ``set_defaults(func=NAME)``."""
    return {
        keyword.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "set_defaults"
        for keyword in node.keywords
        if keyword.arg == "func" and isinstance(keyword.value, ast.Name)
    }


def _reads_settings(node: ast.Call) -> bool:
    if node.args or node.keywords:
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    return name.endswith("Settings")


def _is_main_guard(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)


def settings_reads_outside_entry_points(source: str) -> list[tuple[str, int]]:
    """(owner, line) of every settings read not in an entry point; the owner is the top-level
    function (or ``Class.method``, or ``<module>``) the read is in."""
    tree = ast.parse(source)
    allowed = {"main"} | command_entry_points(tree)
    found: list[tuple[str, int]] = []

    def scan(node: ast.AST, owner: str) -> None:
        calls = (n for n in ast.walk(node) if isinstance(n, ast.Call))
        found.extend((owner, call.lineno) for call in calls if _reads_settings(call))

    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            if statement.name not in allowed:
                scan(statement, statement.name)
        elif isinstance(statement, ast.ClassDef):
            for member in statement.body:
                scan(member, f"{statement.name}.{getattr(member, 'name', '<body>')}")
        elif not _is_main_guard(statement):
            scan(statement, "<module>")
    return found


def test_settings_are_read_only_in_main_and_command_entry_points() -> None:
    offenders = []
    for path in sorted((REPO / "services").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        for owner, line in settings_reads_outside_entry_points(path.read_text()):
            if (relative, owner) not in KNOWN_EXCEPTIONS:
                offenders.append(f"{relative}:{line} in {owner}")
    assert offenders == [], (
        "settings read from the environment outside main() or a command entry point; build "
        "them there and pass them down:\n" + "\n".join(offenders)
    )


def test_every_known_exception_is_still_needed() -> None:
    still = {
        (path, owner)
        for path, owner in KNOWN_EXCEPTIONS
        if owner in {o for o, _ in settings_reads_outside_entry_points((REPO / path).read_text())}
    }
    assert still == set(KNOWN_EXCEPTIONS), "drop the fixed entries from KNOWN_EXCEPTIONS"


def test_the_scan_finds_hidden_reads_and_allows_entry_points() -> None:
    source = """
from services.common.config import KafkaSettings, RuntimeSettings
from services.common import config

BATCH = RuntimeSettings().batch_size

def helper(kafka=None):
    return kafka or KafkaSettings()

def explicit():
    return KafkaSettings(bootstrap_servers="x:1")

class Worker:
    def start(self):
        return config.DatabaseSettings()

def main():
    def build():
        return RuntimeSettings()
    return KafkaSettings(), build

def _publish(args):
    return KafkaSettings()

def register(subparsers):
    subparsers.add_parser("publish").set_defaults(func=_publish)

if __name__ == "__main__":
    RuntimeSettings()
"""
    assert settings_reads_outside_entry_points(source) == [
        ("<module>", 5),
        ("helper", 8),
        ("Worker.start", 15),
    ]
