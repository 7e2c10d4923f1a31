"""Request and response bodies of the disputes and account routes (account_api.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.exporter.dependencies import NO_NUL
from services.exporter.dispute_rules import (
    MAX_DETAIL_LENGTH,
    DecidedBy,
    DisputeReason,
    DisputeStatus,
)
from services.exporter.disputes import Dispute
from services.exporter.ledger import AccountSummary


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: DisputeReason = Field(
        description="duplicate and stale are approved at once when the data proves them."
    )
    detail: str | None = Field(
        default=None,
        max_length=MAX_DETAIL_LENGTH,
        pattern=NO_NUL,
        description="What went wrong, for the operator who reads it.",
    )


class DisputeOut(BaseModel):
    id: int
    lead_id: int
    reason: DisputeReason
    detail: str | None
    status: DisputeStatus = Field(description="open (an operator decides), approved or denied.")
    decided_by: DecidedBy | None = Field(description="system (proved automatically) or operator.")
    decision_note: str | None
    price: float = Field(description="What the purchase was charged; an approval credits it.")
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, dispute: Dispute) -> DisputeOut:
        return cls(
            id=dispute.id,
            lead_id=dispute.lead_id,
            reason=dispute.reason,
            detail=dispute.detail,
            status=dispute.status,
            decided_by=dispute.decided_by,
            decision_note=dispute.decision_note,
            price=float(dispute.price),
            created_at=dispute.created_at,
            decided_at=dispute.decided_at,
        )


class DisputeList(BaseModel):
    items: list[DisputeOut]


class AccountOut(BaseModel):
    purchases: int = Field(description="Purchase entries in the ledger.")
    spent: float = Field(description="Sum of the purchase entries: what you were charged.")
    credited: float = Field(description="Sum of the credits, as a positive number.")
    adjustments: float = Field(description="Sum of the operators' adjustments (signed).")
    net: float = Field(description="spent − credited + adjustments: what you owe.")

    @classmethod
    def of(cls, summary: AccountSummary) -> AccountOut:
        return cls(
            purchases=summary.purchases,
            spent=float(summary.spent),
            credited=float(summary.credited),
            adjustments=float(summary.adjustments),
            net=float(summary.net),
        )
