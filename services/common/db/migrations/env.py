"""Alembic environment: one migration history for every leadstream table."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

# Every area's tables: the package loads them all onto this one metadata.
from services.common.db.tables import metadata

config = context.config
target_metadata = metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        # No pool: a pooled connection would outlive the migration and keep the database busy
        # (e.g. the test template database cannot be cloned while anyone is connected to it).
        connectable = create_engine(
            str(config.get_main_option("sqlalchemy.url")), poolclass=pool.NullPool
        )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
