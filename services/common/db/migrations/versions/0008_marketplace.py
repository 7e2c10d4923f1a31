"""marketplace: buyers.plan, price_book, disputes, ledger_entries

Buyers get a plan: ``marketplace`` (previews until bought; the default for new buyers) or
``subscription`` (every entitled lead in full). Buyers that exist already keep what they had,
so they become ``subscription``. The price book quotes leads; disputes and the append-only
ledger record what buyers were charged and credited. Purchases made before this revision
enter the ledger as purchase entries, so account totals cover them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:39:03.089120
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.db.tables.marketplace import LEDGER_IS_APPEND_ONLY

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("(CURRENT_TIMESTAMP)")


def upgrade() -> None:
    op.create_table(
        "price_book",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("trade_group", sa.String(length=40), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=True, comment="null = any category"),
        sa.Column("county", sa.String(length=100), nullable=True, comment="null = any county"),
        sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_price_book_price_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_book")),
    )
    op.create_index(
        "uq_price_book_scope",
        "price_book",
        [
            "trade_group",
            "tier",
            sa.literal_column("coalesce(category, '')"),
            sa.literal_column("coalesce(county, '')"),
        ],
        unique=True,
    )
    op.create_table(
        "disputes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "purchase_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("lead_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("buyer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column(
            "decided_by",
            sa.String(length=20),
            nullable=True,
            comment="'system' (proved automatically) or 'operator'",
        ),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "reason IN ('wrong_contact','duplicate','stale','not_a_project','other')",
            name=op.f("ck_disputes_reason_enum"),
        ),
        sa.CheckConstraint(
            "status IN ('open','approved','denied')", name=op.f("ck_disputes_status_enum")
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["buyers.id"], name=op.f("fk_disputes_buyer_id_buyers")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["scored_leads.id"], name=op.f("fk_disputes_lead_id_scored_leads")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["lead_purchases.id"],
            name=op.f("fk_disputes_purchase_id_lead_purchases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("purchase_id", name=op.f("uq_disputes_purchase_id")),
    )
    op.create_index(op.f("ix_disputes_buyer_id"), "disputes", ["buyer_id"], unique=False)
    op.create_index(op.f("ix_disputes_lead_id"), "disputes", ["lead_id"], unique=False)
    op.create_index(
        "ix_disputes_status_created_at", "disputes", ["status", "created_at"], unique=False
    )
    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("buyer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("lead_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "purchase_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "dispute_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.CheckConstraint(
            "kind IN ('purchase','credit','adjustment')", name=op.f("ck_ledger_entries_kind_enum")
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["buyers.id"], name=op.f("fk_ledger_entries_buyer_id_buyers")
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.id"], name=op.f("fk_ledger_entries_dispute_id_disputes")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["scored_leads.id"], name=op.f("fk_ledger_entries_lead_id_scored_leads")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["lead_purchases.id"],
            name=op.f("fk_ledger_entries_purchase_id_lead_purchases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("dispute_id", name=op.f("uq_ledger_entries_dispute_id")),
        sa.UniqueConstraint("purchase_id", "kind", name=op.f("uq_ledger_entries_purchase_id_kind")),
    )
    op.create_index(
        "ix_ledger_entries_buyer_id_created_at",
        "ledger_entries",
        ["buyer_id", "created_at"],
        unique=False,
    )
    # Buyers that exist already keep seeing what they saw: they are subscription buyers.
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "plan",
                sa.String(length=20),
                server_default="subscription",
                nullable=False,
                comment=(
                    "marketplace = previews until bought; "
                    "subscription = every entitled lead in full"
                ),
            )
        )
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.alter_column("plan", server_default="marketplace")
        batch_op.create_check_constraint(
            op.f("ck_buyers_plan_enum"), "plan IN ('marketplace','subscription')"
        )

    op.execute(
        "INSERT INTO ledger_entries (buyer_id, kind, amount, lead_id, purchase_id, note, created_at) "
        "SELECT buyer_id, 'purchase', price, lead_id, id, 'before the ledger', purchased_at "
        "FROM lead_purchases WHERE price IS NOT NULL"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LEDGER_IS_APPEND_ONLY)


def downgrade() -> None:
    with op.batch_alter_table("buyers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_buyers_plan_enum"), type_="check")
        batch_op.drop_column("plan")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_append_only() CASCADE")
    op.drop_index("ix_ledger_entries_buyer_id_created_at", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index("ix_disputes_status_created_at", table_name="disputes")
    op.drop_index(op.f("ix_disputes_lead_id"), table_name="disputes")
    op.drop_index(op.f("ix_disputes_buyer_id"), table_name="disputes")
    op.drop_table("disputes")
    op.drop_index("uq_price_book_scope", table_name="price_book")
    op.drop_table("price_book")
