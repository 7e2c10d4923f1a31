"""What the system approves on its own: only a provable duplicate or a lead stale when sold."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from services.categorizer.rule_book import load_rules
from services.exporter.dispute_rules import (
    STALE_AFTER_DAYS,
    BoughtLead,
    DisputeReason,
    automatic_approval,
    days_old_when_sold,
    within_window,
)

SOLD = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
PROJECT = "address:austin_tx:12 LAKEVIEW DR|pool"


def bought(purchase_id: int, **changes: object) -> BoughtLead:
    values: dict[str, object] = {
        "purchase_id": purchase_id,
        "lead_id": 100 + purchase_id,
        "purchased_at": SOLD,
        "project_key": PROJECT,
        "project_date": date(2026, 5, 20),
        "issued_date": date(2026, 5, 20),
    }
    values.update(changes)
    return BoughtLead(**values)  # type: ignore[arg-type]


def test_a_later_purchase_of_the_same_project_is_a_provable_duplicate() -> None:
    first = bought(1, purchased_at=SOLD - timedelta(days=2), project_date=date(2026, 3, 1))
    second = bought(2)
    note = automatic_approval(DisputeReason.DUPLICATE, second, [first])
    assert note is not None and "lead 101" in note and "2026-05-30" in note
    # The first purchase is the original, not a duplicate of the second.
    assert automatic_approval(DisputeReason.DUPLICATE, first, [second]) is None


@pytest.mark.parametrize(
    "other",
    [
        bought(1, purchased_at=SOLD - timedelta(days=1), project_key="address:austin_tx:1 X|pool"),
        bought(1, purchased_at=SOLD - timedelta(days=1), project_date=date(2026, 2, 18)),
        bought(1, purchased_at=SOLD - timedelta(days=1), project_date=None),
        bought(1, purchased_at=SOLD - timedelta(days=1), credited=True),
        bought(1, purchased_at=SOLD + timedelta(days=1)),
    ],
    ids=["other project", "91 days apart", "no date", "credited", "bought later"],
)
def test_nothing_less_proves_a_duplicate(other: BoughtLead) -> None:
    assert automatic_approval(DisputeReason.DUPLICATE, bought(2), [other]) is None


def test_a_lead_without_a_project_key_is_never_a_provable_duplicate() -> None:
    first = bought(1, purchased_at=SOLD - timedelta(days=1), project_key=None)
    assert automatic_approval(DisputeReason.DUPLICATE, bought(2, project_key=None), [first]) is None


def test_the_same_purchase_times_are_ordered_by_purchase_id() -> None:
    assert automatic_approval(DisputeReason.DUPLICATE, bought(2), [bought(1)]) is not None
    assert automatic_approval(DisputeReason.DUPLICATE, bought(1), [bought(2)]) is None


def test_stale_means_issued_more_than_90_days_before_the_sale() -> None:
    at_limit = bought(1, issued_date=date(2026, 3, 3))  # 90 days before June 1st
    assert days_old_when_sold(at_limit) == 90
    assert automatic_approval(DisputeReason.STALE, at_limit, []) is None
    older = replace(at_limit, issued_date=date(2026, 3, 2))
    note = automatic_approval(DisputeReason.STALE, older, [])
    assert note is not None and "91 days" in note
    assert automatic_approval(DisputeReason.STALE, older, [], stale_after_days=120) is None
    assert automatic_approval(DisputeReason.STALE, bought(1, issued_date=None), []) is None


def test_the_sale_day_is_counted_in_utc() -> None:
    late_evening_in_texas = datetime(2026, 6, 2, 2, 0, tzinfo=UTC)  # June 1st, 21:00 CDT
    assert days_old_when_sold(bought(1, purchased_at=late_evening_in_texas)) == 13


@pytest.mark.parametrize(
    "reason", [DisputeReason.WRONG_CONTACT, DisputeReason.NOT_A_PROJECT, DisputeReason.OTHER]
)
def test_other_reasons_always_wait_for_an_operator(reason: DisputeReason) -> None:
    stale_duplicate = bought(2, issued_date=date(2025, 1, 1))
    earlier = bought(1, purchased_at=SOLD - timedelta(days=1))
    assert automatic_approval(reason, stale_duplicate, [earlier]) is None


def test_a_stale_claim_is_not_proved_by_a_duplicate_and_vice_versa() -> None:
    earlier = bought(1, purchased_at=SOLD - timedelta(days=1))
    assert automatic_approval(DisputeReason.STALE, bought(2), [earlier]) is None
    assert (
        automatic_approval(DisputeReason.DUPLICATE, bought(2, issued_date=date(2025, 1, 1)), [])
        is None
    )


def test_the_window_counts_whole_days_from_the_purchase() -> None:
    assert within_window(SOLD, SOLD + timedelta(days=7), 7)
    assert not within_window(SOLD, SOLD + timedelta(days=7, seconds=1), 7)
    assert not within_window(SOLD, SOLD + timedelta(seconds=1), 0)


def test_stale_is_the_categorizers_stale_threshold() -> None:
    """Changing the pipeline's stale rule is a decision about stale disputes too."""
    assert load_rules().stale_after_days == STALE_AFTER_DAYS
