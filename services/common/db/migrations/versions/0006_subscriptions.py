"""subscriptions; scored_leads: zip_code, latitude, longitude, location_approximate

Buyer subscriptions (saved searches, optionally pushed to a webhook) and where each lead is,
for the `zip_code` and `near` filters. Leads stored before this revision get their location
the way the store gives new leads theirs: the portal's point from their message, else their
ZIP's centroid.

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
    """The leads already stored get their 5-digit ZIP and the portal's coordinates from their
    message, then, where the portal gave none, their ZIP's centroid (approximate), as the
    store does for new leads (services/subscriptions/location.py): one UPDATE per ZIP."""
    from services.subscriptions.location import zip_centroid

    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        permit_zip = "lead->'permit'->>'zip_code'"
        conn.execute(
            sa.text(
                "UPDATE scored_leads SET "
                f" zip_code = CASE WHEN {permit_zip} ~ '^[0-9]{{5}}' THEN left({permit_zip}, 5) END,"
                " latitude = (lead->'permit'->>'latitude')::float,"
                " longitude = (lead->'permit'->>'longitude')::float"
            )
        )
    else:
        permit_zip = "json_extract(lead, '$.permit.zip_code')"
        conn.execute(
            sa.text(
                "UPDATE scored_leads SET "
                f" zip_code = CASE WHEN {permit_zip} GLOB '[0-9][0-9][0-9][0-9][0-9]*'"
                f" THEN substr({permit_zip}, 1, 5) END,"
                " latitude = json_extract(lead, '$.permit.latitude'),"
                " longitude = json_extract(lead, '$.permit.longitude')"
            )
        )
    # Half a point is no point, and (0, 0) is a portal's "not geocoded".
    conn.execute(
        sa.text(
            "UPDATE scored_leads SET latitude = NULL, longitude = NULL "
            "WHERE latitude IS NULL OR longitude IS NULL OR (latitude = 0 AND longitude = 0)"
        )
    )
    conn.execute(
        sa.text("UPDATE scored_leads SET location_approximate = false WHERE latitude IS NOT NULL")
    )
    zips = conn.execute(
        sa.text(
            "SELECT DISTINCT zip_code FROM scored_leads "
            "WHERE latitude IS NULL AND zip_code IS NOT NULL"
        )
    ).scalars()
    centroids = []
    for zip_code in zips:
        centroid = zip_centroid(zip_code)
        if centroid is not None:
            centroids.append({"zip": zip_code, "lat": centroid[0], "lon": centroid[1]})
    if centroids:
        conn.execute(
            sa.text(
                "UPDATE scored_leads SET latitude = :lat, longitude = :lon,"
                " location_approximate = true WHERE zip_code = :zip AND latitude IS NULL"
            ),
            centroids,
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
