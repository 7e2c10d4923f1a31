"""A lead as the portal shows it: the API's ``LeadOut``, with contact fields only when revealed.

The API decides what a buyer may see; the portal additionally never renders a contact field
of a lead the buyer has not bought, so a preview stays a preview whatever the model carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.exporter.api_models import LeadOut


@dataclass(frozen=True)
class LeadView:
    lead: LeadOut
    revealed: bool  # the API's decision: bought, or a subscription buyer
    purchased: bool
    price: Decimal | None  # the quoted book price; None = the buyer names it

    @property
    def id(self) -> int:
        return self.lead.id


def lead_view(lead: LeadOut) -> LeadView:
    return LeadView(
        lead=lead,
        revealed=lead.revealed,
        purchased=lead.purchased_at is not None,
        price=None if lead.price is None else Decimal(str(lead.price)).quantize(Decimal("0.01")),
    )


def money(amount: object) -> str:
    """$1,234.50: two decimals, thousands separated."""
    if amount is None:
        return "—"
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    sign = "−" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"
