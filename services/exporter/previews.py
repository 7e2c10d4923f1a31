"""Previews: what a marketplace buyer sees of a lead it has not bought (docs/marketplace.md).

A preview keeps what helps decide whether to buy (category, trade group, city, ZIP, county,
score, tier, valuation, a market-value band, absentee, age, the scorer's reasoning and flags,
the price) and drops whatever lets a buyer reach the customer without paying: names, the
street address, the parcel, the permit number and source, the description, coordinates.

The scorer is told not to write names or addresses into its reasoning and flags, but it is a
language model reading strangers' text, so previews redact those texts anyway: ``redact``
removes the lead's own names, address, house number and permit numbers, and anything shaped
like a street address. Pure functions, shared by the JSON API, the CSV download, the tier
files and the webhooks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from services.exporter.market_bands import market_value_band
from services.exporter.records import CSV_HEADER, FLAG_SEPARATOR, LeadCells, Offer, csv_record

REDACTED = "[redacted]"

# CSV columns emptied in a preview, and the free texts redacted in it.
HIDDEN_COLUMNS = frozenset(
    {
        "permit_id",
        "property_address",
        "owner_name",
        "project_description",
        "market_value",
        "related_permits",
        "latitude",
        "longitude",
        "location_approximate",
    }
)
REDACTED_COLUMNS = ("reasoning", "ideal_contractor")

# Words of business and household names that are also ordinary words of a lead's text:
# a name is redacted whole, and word by word except for these.
_NAME_WORDS = """llc inc corp co company trust the and of ltd lp llp pllc est estate family living
    revocable irrevocable partners partnership group holdings properties property investments
    homes home builders builder building construction contractors contractor services service
    pools pool roofing roof remodeling design designs custom outdoor solar electric plumbing
    hvac energy landscape landscaping mr mrs ms dr jr sr ii iii etux etal et ux al"""
_GENERIC_NAME_WORDS = frozenset(_NAME_WORDS.split())
_STREET_TYPES = (
    "street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|court|ct|circle|cir|way|"
    "place|pl|parkway|pkwy|trail|trl|terrace|ter|highway|hwy|loop|cove|cv|row|path|run|"
    "crossing|xing|pass|bend|square|sq|point|pt|ridge|hollow|holw|creek|park|pike|plaza|plz"
)
# A house number, an optional direction, up to four words, a street type: "4512 N Lamar Blvd".
_STREET_ADDRESS = re.compile(
    rf"\b\d{{1,6}}[a-z]?\s+(?:[nsew]\.?\s+|north\s+|south\s+|east\s+|west\s+)?"
    rf"(?:[a-z0-9'.-]+\s+){{0,4}}?(?:{_STREET_TYPES})\b\.?",
    re.IGNORECASE,
)
_HOUSE_NUMBER = re.compile(r"^\s*(\d{1,6}[a-z]?)\s+(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Secrets:
    """What a preview must not show of one lead, wherever its text might repeat it."""

    names: tuple[str, ...] = ()
    address: str | None = None
    permit_numbers: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        names: Iterable[str | None],
        address: str | None,
        permit_numbers: Iterable[str | None],
    ) -> Secrets:
        return cls(
            tuple(name.strip() for name in names if name and name.strip()),
            address.strip() if address and address.strip() else None,
            tuple(number.strip() for number in permit_numbers if number and number.strip()),
        )

    @cached_property
    def needles(self) -> tuple[tuple[str, str, bool], ...]:
        """(secret, casefolded, whether it is a single word), longest first; a pattern is
        made of one only for a text that contains it."""
        literals: list[str] = [*self.permit_numbers, *self.names]
        words: list[str] = []
        for name in self.names:
            words.extend(
                word
                for word in re.findall(r"[^\W\d_][\w'-]*", name)
                if len(word) >= 3 and word.lower() not in _GENERIC_NAME_WORDS
            )
        if self.address:
            literals.append(self.address)
            street = _HOUSE_NUMBER.match(self.address)
            if street:
                number, rest = street.groups()
                literals.append(rest.split(",")[0].strip())
                if len(number) >= 3:  # shorter numbers are too often ages, counts or percentages
                    words.append(number)
        found = [(literal, False) for literal in {item for item in literals if len(item) >= 3}]
        found += [(word, True) for word in set(words)]
        found.sort(key=lambda pair: len(pair[0]), reverse=True)
        return tuple((secret, secret.casefold(), is_word) for secret, is_word in found)


def redact(text: str | None, secrets: Secrets) -> str | None:
    """``text`` without the lead's names, address, house number and permit numbers, nor
    anything shaped like a street address, matched case-insensitively."""
    if not text:
        return text
    text = _STREET_ADDRESS.sub(REDACTED, text)
    folded = text.casefold()
    # Most texts hold none of the lead's secrets (the scorer is told so): a substring test
    # first, so that a CSV of many previews compiles no pattern for them.
    for secret, needle, is_word in secrets.needles:
        if needle in folded:
            # A word stands alone, and is not part of an amount or a percentage ("4512").
            before, after = (r"(?<![\w$.,])", r"(?![\w%])") if is_word else (r"(?<!\w)", r"(?!\w)")
            pattern = before + re.escape(secret) + after
            text = re.sub(pattern, REDACTED, text, flags=re.IGNORECASE)
            folded = text.casefold()
    return text


def redact_all(texts: Sequence[str], secrets: Secrets) -> list[str]:
    return [redacted for text in texts if (redacted := redact(text, secrets))]


def related_permit_numbers(related: Iterable[dict[str, object]] | None) -> list[str]:
    return [str(entry["permit_id"]) for entry in related or () if entry.get("permit_id")]


_AT = {name: index for index, name in enumerate(CSV_HEADER)}


def preview_record(record: Sequence[str], extra_names: Iterable[str | None] = ()) -> list[str]:
    """A full CSV record (``CSV_HEADER`` order) turned into its preview.

    The lead's own cells say what to redact (owner, address, permit and related permit
    numbers); ``extra_names`` adds what the record does not carry (applicant, contractor).
    """
    cells = list(record)
    try:
        related = json.loads(cells[_AT["related_permits"]] or "[]")
    except ValueError:
        related = []
    secrets = Secrets.of(
        names=[_plain(cells[_AT["owner_name"]]), *extra_names],
        address=_plain(cells[_AT["property_address"]]),
        permit_numbers=[_plain(cells[_AT["permit_id"]]), *related_permit_numbers(related)],
    )
    for name in REDACTED_COLUMNS:
        cells[_AT[name]] = redact(cells[_AT[name]], secrets) or ""
    flags = cells[_AT["flags"]]
    if flags:
        cells[_AT["flags"]] = FLAG_SEPARATOR.join(redact_all(flags.split(FLAG_SEPARATOR), secrets))
    cells[_AT["market_value_band"]] = market_value_band(_number(cells[_AT["market_value"]])) or ""
    for name in HIDDEN_COLUMNS:
        cells[_AT[name]] = ""
    cells[_AT["revealed"]] = "false"
    return cells


_CELLS = len(LeadCells._fields)


def offered_csv_record(row: Sequence[Any], today: date) -> list[str]:
    """A row of ``queries.csv_query`` (the lead's cells, then ``offer_columns``) as the
    viewer is offered it: in full, or a preview."""
    price, revealed, applicant, contractor = row[_CELLS : _CELLS + 4]
    record = csv_record(LeadCells._make(row[:_CELLS]), today, Offer(price, bool(revealed)))
    return record if revealed else preview_record(record, (applicant, contractor))


def _plain(cell: str) -> str:
    """A cell's text without the quote that defuses spreadsheet formulas."""
    return cell[1:] if cell.startswith("'") else cell


def _number(cell: str) -> Decimal | None:
    try:
        return Decimal(cell) if cell else None
    except InvalidOperation:
        return None
