"""scored_leads: project key, project date and related permits; discarded_permits: duplicate_of

One lead per project (services/store/projects.py): the store folds later permits of the same
property and category within 90 days into the first lead, as `duplicate` discards.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Leads stored before this revision keep a null project key: they are never joined (see
    # docs/store.md, "One lead per project").
    with op.batch_alter_table("scored_leads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "project_key",
                sa.String(length=400),
                nullable=True,
                comment="Property and category; null = never folded.",
            )
        )
        batch_op.add_column(
            sa.Column(
                "project_date",
                sa.Date(),
                nullable=True,
                comment="Issued, else applied, else scraped date: what the 90 days count from.",
            )
        )
        batch_op.add_column(
            sa.Column(
                "related_permits",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'[]'"),
                nullable=False,
                comment="The permits folded into this lead: number, type, category, issued, "
                "valuation.",
            )
        )
        batch_op.create_index(
            batch_op.f("ix_scored_leads_project_key"), ["project_key"], unique=False
        )
    with op.batch_alter_table("discarded_permits", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "duplicate_of",
                sa.String(length=140),
                nullable=True,
                comment="reason duplicate: permit_key of the lead it joined.",
            )
        )
        batch_op.create_index(
            batch_op.f("ix_discarded_permits_duplicate_of"), ["duplicate_of"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("discarded_permits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discarded_permits_duplicate_of"))
        batch_op.drop_column("duplicate_of")
    with op.batch_alter_table("scored_leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scored_leads_project_key"))
        batch_op.drop_column("related_permits")
        batch_op.drop_column("project_date")
        batch_op.drop_column("project_key")
