"""builder registry: observations and operator overrides

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 16:35:53
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "builder_observations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("permit_key", sa.String(length=140), nullable=False),
        sa.Column(
            "observed_on",
            sa.Date(),
            nullable=False,
            comment="The permit's date the rolling window counts (docs/categorizer.md).",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_builder_observations")),
        sa.UniqueConstraint(
            "permit_key", "name", name=op.f("uq_builder_observations_permit_key_name")
        ),
    )
    with op.batch_alter_table("builder_observations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_builder_observations_jurisdiction_name_observed_on",
            ["jurisdiction", "name", "observed_on"],
            unique=False,
        )

    op.create_table(
        "builder_overrides",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column(
            "entered_as",
            sa.String(length=256),
            nullable=False,
            comment="The name as the operator typed it.",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "verdict IN ('builder','allowed')", name=op.f("ck_builder_overrides_verdict_enum")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_builder_overrides")),
    )


def downgrade() -> None:
    op.drop_table("builder_overrides")
    with op.batch_alter_table("builder_observations", schema=None) as batch_op:
        batch_op.drop_index("ix_builder_observations_jurisdiction_name_observed_on")

    op.drop_table("builder_observations")
