"""The migrations build exactly the tables the code declares (what `alembic check` asks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from services.common.db import tables
from services.common.db.tables import metadata
from services.common.db.tables.base import Base

pytestmark = pytest.mark.postgres

AREAS = Path(tables.__file__).parent


def test_the_migrated_database_and_the_declared_tables_do_not_differ(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_every_area_module_puts_its_tables_on_the_one_metadata(engine: Engine) -> None:
    declared: set[str] = set()
    for path in sorted(AREAS.glob("*.py")):
        if path.stem in ("__init__", "base"):
            continue
        module = getattr(tables, path.stem, None)
        assert module is not None, f"the package does not load tables/{path.name}"
        found = {
            value.__tablename__
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Base)
            and value.__module__ == module.__name__
        }
        assert found, f"tables/{path.name} declares no table"
        declared |= found
    migrated = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert declared == set(metadata.tables) == migrated
