"""properties: market-value percentile and median within the county and the ZIP

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: unknown until the next `leadstream cad import` of the county
    # computes them (an unchanged re-import does too).
    with op.batch_alter_table("properties", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "market_value_percentile_county",
                sa.Float(),
                nullable=True,
                comment="Share of the county's valued parcels worth less (0-1).",
            )
        )
        batch_op.add_column(
            sa.Column(
                "market_value_percentile_zip",
                sa.Float(),
                nullable=True,
                comment="Share of the situs ZIP's valued parcels worth less (0-1).",
            )
        )
        batch_op.add_column(
            sa.Column("county_median_market_value", sa.Numeric(14, 2), nullable=True)
        )
        batch_op.add_column(sa.Column("zip_median_market_value", sa.Numeric(14, 2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("properties", schema=None) as batch_op:
        batch_op.drop_column("zip_median_market_value")
        batch_op.drop_column("county_median_market_value")
        batch_op.drop_column("market_value_percentile_zip")
        batch_op.drop_column("market_value_percentile_county")
