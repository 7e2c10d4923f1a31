"""What the system may decide about a dispute on its own (pure: no database).

A buyer disputes a lead it bought, within a window of days after the purchase. Two reasons can
be proved from what leadstream already knows, and are approved without an operator:

- ``duplicate``: the same buyer had already bought, earlier, another lead of the same project:
  the same property and category (``scored_leads.project_key``, as the store folds permits,
  services/store/projects.py) with project dates within 90 days of each other, and that
  earlier purchase was not itself credited (else the buyer would have paid for the job zero
  times).
- ``stale``: the permit had been issued more than ``STALE_AFTER_DAYS`` days before the
  purchase (UTC days), the categorizer's own stale threshold (``stale_after_days`` in
  services/categorizer/rules.yaml; docs/categorizer.md, "Categorising: how the rules work"):
  a lead that old would have been discarded had it arrived then.

Anything else (wrong contact, not a project, other, or a duplicate/stale claim the data does
not bear out) waits for an operator.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from services.store.projects import PROJECT_WINDOW

STALE_AFTER_DAYS = 90
MAX_DETAIL_LENGTH = 2000


class DisputeReason(StrEnum):
    WRONG_CONTACT = "wrong_contact"
    DUPLICATE = "duplicate"
    STALE = "stale"
    NOT_A_PROJECT = "not_a_project"
    OTHER = "other"


class DisputeStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    DENIED = "denied"


class DecidedBy(StrEnum):
    SYSTEM = "system"
    OPERATOR = "operator"


@dataclass(frozen=True)
class BoughtLead:
    """One purchase of a buyer, with what the rules read of its lead."""

    purchase_id: int
    lead_id: int
    purchased_at: datetime
    project_key: str | None
    project_date: date | None  # issued, else applied, else scraped (the store's)
    issued_date: date | None
    credited: bool = False


def window_closes_at(purchased_at: datetime, window_days: int) -> datetime:
    return purchased_at + timedelta(days=window_days)


def within_window(purchased_at: datetime, now: datetime, window_days: int) -> bool:
    return now <= window_closes_at(purchased_at, window_days)


def automatic_approval(
    reason: DisputeReason,
    disputed: BoughtLead,
    others: Iterable[BoughtLead],
    *,
    stale_after_days: int = STALE_AFTER_DAYS,
) -> str | None:
    """The proof, as the decision note, when the system approves; None leaves it open.

    ``others`` are the buyer's other purchases (any lead; those of other projects are ignored).
    """
    if reason is DisputeReason.DUPLICATE:
        earlier = earlier_purchase_of_same_project(disputed, others)
        if earlier is not None:
            return (
                f"duplicate: the same project (property and category) as lead "
                f"{earlier.lead_id}, which you bought on {earlier.purchased_at:%Y-%m-%d}"
            )
    if reason is DisputeReason.STALE:
        age = days_old_when_sold(disputed)
        if age is not None and age > stale_after_days:
            return (
                f"stale: issued {disputed.issued_date} was {age} days before the purchase "
                f"(stale after {stale_after_days})"
            )
    return None


def earlier_purchase_of_same_project(
    disputed: BoughtLead, others: Iterable[BoughtLead]
) -> BoughtLead | None:
    """The first not-credited purchase, made before this one, of a lead of the same project."""
    if disputed.project_key is None or disputed.project_date is None:
        return None
    candidates = [
        other
        for other in others
        if other.purchase_id != disputed.purchase_id
        and other.lead_id != disputed.lead_id
        and not other.credited
        and other.project_key == disputed.project_key
        and other.project_date is not None
        and abs(other.project_date - disputed.project_date) <= PROJECT_WINDOW
        and (other.purchased_at, other.purchase_id) < (disputed.purchased_at, disputed.purchase_id)
    ]
    return min(candidates, key=lambda o: (o.purchased_at, o.purchase_id), default=None)


def days_old_when_sold(bought: BoughtLead) -> int | None:
    if bought.issued_date is None:
        return None
    return (bought.purchased_at.astimezone(UTC).date() - bought.issued_date).days
