"""scored_leads: project key, project date and related permits; discarded_permits: duplicate_of

One lead per project (services/store/projects.py): the store folds later permits of the same
property and category within 90 days into the first lead, as `duplicate` discards. The leads
already stored get their project key and date from their message, so they can be joined.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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

    _backfill_project_keys()


# Leads updated per statement while backfilling.
_BACKFILL_BATCH = 1_000


def _backfill_project_keys() -> None:
    """The project key and date of every lead already stored, from its ``leads.scored``
    message (``lead``), by the store's own definition, so a later permit of the same job joins
    it instead of becoming a second lead. A message that no longer validates keeps a null key
    (never joined). Its related permits start empty: leads already stored are not folded into
    each other, since a buyer may hold either."""
    from schemas import ScoredLead
    from services.store.projects import project_date, project_key

    leads = sa.table(
        "scored_leads",
        sa.column("id", sa.BigInteger()),
        sa.column("lead", sa.JSON()),
        sa.column("project_key", sa.String()),
        sa.column("project_date", sa.Date()),
    )
    conn = op.get_bind()
    update = (
        sa.update(leads)
        .where(leads.c.id == sa.bindparam("lead_id"))
        .values(project_key=sa.bindparam("key"), project_date=sa.bindparam("day"))
    )
    after = 0
    while True:
        rows = conn.execute(
            sa.select(leads.c.id, leads.c.lead)
            .where(leads.c.id > after)
            .order_by(leads.c.id)
            .limit(_BACKFILL_BATCH)
        ).all()
        if not rows:
            return
        changes = []
        for lead_id, stored in rows:
            try:
                message = ScoredLead.model_validate(
                    json.loads(stored) if isinstance(stored, str) else stored
                )
            except ValueError:
                continue
            key = project_key(message.permit, message.categorization, message.cad)
            if key is not None:
                changes.append(
                    {"lead_id": lead_id, "key": key, "day": project_date(message.permit)}
                )
        if changes:
            conn.execute(update, changes)
        after = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("discarded_permits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discarded_permits_duplicate_of"))
        batch_op.drop_column("duplicate_of")
    with op.batch_alter_table("scored_leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scored_leads_project_key"))
        batch_op.drop_column("related_permits")
        batch_op.drop_column("project_date")
        batch_op.drop_column("project_key")
