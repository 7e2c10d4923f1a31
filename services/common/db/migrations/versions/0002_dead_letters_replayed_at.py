"""dead_letters.replayed_at: which dead letters `leadstream dlq replay` sent back

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 03:11:04.477728
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: every existing dead letter is "not replayed yet", which is true.
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "replayed_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="When `leadstream dlq replay` re-published the original; null = not yet.",
            )
        )
        batch_op.create_index(
            batch_op.f("ix_dead_letters_replayed_at"), ["replayed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_replayed_at"))
        batch_op.drop_column("replayed_at")
