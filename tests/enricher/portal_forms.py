"""Real Tarrant situs addresses rewritten the ways permit portals write addresses."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

TARRANT_SAMPLE = "tarrant_cad_parcels_2025_1pct_sample.json"

# Spellings portals use that the CAD does not (and back): suffixes, directionals, units.
SPELLED_SUFFIXES = {
    "ST": "Street", "AVE": "Avenue", "DR": "Drive", "RD": "Road", "LN": "Lane", "CT": "Court",
    "CIR": "Circle", "BLVD": "Boulevard", "PL": "Place", "TR": "Trail", "TRL": "Trail",
    "PKWY": "Parkway", "WAY": "Way", "TERR": "Terrace", "HWY": "Highway", "FWY": "Freeway",
    "CV": "Cove", "PASS": "Pass", "SQ": "Square", "LOOP": "Loop", "RUN": "Run", "XING": "Crossing",
}  # fmt: skip
SPELLED_DIRECTIONS = {"N": "North", "S": "South", "E": "East", "W": "West"}
_UNIT = re.compile(r" # (\S+)$")


def tarrant_situs(shared_data: Path) -> list[tuple[str, str]]:
    """(account_num, situs_address) of every parcel in the sample."""
    document = json.loads((shared_data / TARRANT_SAMPLE).read_text())
    return [(p["account_num"], p["situs_address"]) for p in document["parcels"]]


def _words(address: str, replace: Callable[[int, str, list[str]], str]) -> str:
    words = address.split()
    return " ".join(replace(i, word, words) for i, word in enumerate(words))


def spelled_out(address: str) -> str:
    """Suffixes and directionals spelled out, unit as "Apt 84", title case: "5722 Ensign Drive
    East Apt 84"."""
    unit = _UNIT.search(address)
    street = _UNIT.sub("", address)

    def replace(i: int, word: str, words: list[str]) -> str:
        if i == 0 or (i > 0 and words[i - 1] == "AVE" and len(word) == 1):
            return word  # the house number, or the letter of a lettered avenue ("AVE E")
        if word in SPELLED_DIRECTIONS and (i == 1 or i == len(words) - 1):
            return SPELLED_DIRECTIONS[word]
        if word in SPELLED_SUFFIXES and i >= len(words) - 2:
            return SPELLED_SUFFIXES[word]
        return word.title()

    text = _words(street, replace)
    return f"{text} Apt {unit.group(1)}" if unit else text


def portal_forms(address: str) -> Iterator[str]:
    """Every way of writing ``address`` the matcher must accept."""
    yield address.lower()
    yield f"  {address.replace(' ', '   ')}  "
    yield spelled_out(address)
    yield spelled_out(address).upper() + ", FORT WORTH, TX"
    yield f"{address.title()}."
    if _UNIT.search(address):
        unit = _UNIT.search(address).group(1)  # type: ignore[union-attr]
        street = _UNIT.sub("", address)
        yield f"{street} #{unit}"
        yield f"{street} Unit {unit}"
        yield f"{street}, Suite {unit}"


def other_house_number(address: str, shift: int = 2) -> str:
    number, rest = address.split(" ", 1)
    return f"{int(number) + shift} {rest}"
