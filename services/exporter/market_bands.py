"""Market-value bands: what a preview shows instead of the appraised value (which, exact,
would let a buyer look the parcel up in the appraisal district's records)."""

from __future__ import annotations

from decimal import Decimal

# Upper bounds (exclusive) in dollars and their labels; the last band is open-ended.
MARKET_VALUE_BANDS: tuple[tuple[int, str], ...] = (
    (100_000, "under $100k"),
    (200_000, "$100k–$200k"),
    (400_000, "$200k–$400k"),
    (700_000, "$400k–$700k"),
    (1_000_000, "$700k–$1M"),
    (2_000_000, "$1M–$2M"),
)
TOP_BAND = "$2M+"


def market_value_band(value: Decimal | float | None) -> str | None:
    """``"$200k–$400k"``: the band of an appraised value, or None when unknown."""
    if value is None:
        return None
    for upper, label in MARKET_VALUE_BANDS:
        if value < upper:
            return label
    return TOP_BAND
