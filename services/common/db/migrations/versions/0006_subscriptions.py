"""subscriptions; scored_leads: zip_code, latitude, longitude, location_approximate

Buyer subscriptions (saved searches, optionally pushed to a webhook) and where each lead is,
for the `zip_code` and `near` filters. Leads stored before this revision get their ZIP and
the portal's coordinates from their message; the ZIP centroid is only filled in for new leads
(the message of an old lead has no centroid, and a radius search on it is a non-match).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 17:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=40), nullable=False, comment='"sub_" + 24 hex'),
        sa.Column("buyer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "filters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("webhook_url", sa.Text(), nullable=True, comment="null = a saved search"),
        sa.Column("secret", sa.String(length=120), nullable=False),
        sa.Column("previous_secret", sa.String(length=120), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["buyers.id"], name=op.f("fk_subscriptions_buyer_id_buyers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscriptions_buyer_id"), ["buyer_id"], unique=False)

    with op.batch_alter_table("scored_leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("zip_code", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "location_approximate",
                sa.Boolean(),
                nullable=True,
                comment="true = the ZIP's centroid, not the portal's point; null = no location.",
            )
        )
        batch_op.create_index(batch_op.f("ix_scored_leads_zip_code"), ["zip_code"], unique=False)
        batch_op.create_index(
            "ix_scored_leads_latitude_longitude", ["latitude", "longitude"], unique=False
        )

    _backfill_locations()


def _backfill_locations() -> None:
    """ZIP and portal coordinates of the leads already stored, from their message."""
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "UPDATE scored_leads SET "
                " zip_code = lead->'permit'->>'zip_code',"
                " latitude = (lead->'permit'->>'latitude')::float,"
                " longitude = (lead->'permit'->>'longitude')::float,"
                " location_approximate = CASE WHEN lead->'permit'->>'latitude' IS NOT NULL"
                "   AND lead->'permit'->>'longitude' IS NOT NULL THEN false END"
            )
        )
    else:
        conn.execute(
            sa.text(
                "UPDATE scored_leads SET "
                " zip_code = json_extract(lead, '$.permit.zip_code'),"
                " latitude = json_extract(lead, '$.permit.latitude'),"
                " longitude = json_extract(lead, '$.permit.longitude'),"
                " location_approximate = CASE WHEN json_extract(lead, '$.permit.latitude')"
                "   IS NOT NULL AND json_extract(lead, '$.permit.longitude') IS NOT NULL"
                "   THEN 0 END"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("scored_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_scored_leads_latitude_longitude")
        batch_op.drop_index(batch_op.f("ix_scored_leads_zip_code"))
        batch_op.drop_column("location_approximate")
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
        batch_op.drop_column("zip_code")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_buyer_id"))
    op.drop_table("subscriptions")
