"""Street addresses reduced to one canonical spelling, so a portal's and a CAD's versions compare.

``usaddress`` labels the tokens (house number, directionals, street name, street type, unit,
city …) and ``usaddress-scourgify`` supplies the USPS Publication 28 abbreviation tables. On top
of them this module fixes what they leave apart: case and punctuation, spelled-out ordinals
("FIFTH" → "5TH"), "MC CART" / "MCCART", directional words used as street names, unit designators
("APT 3B", "UNIT 3B", "#3B" are one unit) and Texas route forms ("FARM TO MARKET ROAD 620",
"F.M. 620" → "FM 620"; "I-35", "INTERSTATE HIGHWAY 35" → "IH 35"), which the tagger mislabels.

An address without a house number or a street name normalises to ``None``: a street name alone
never identifies a property.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby

import usaddress
from scourgify.address_constants import (
    DIRECTIONAL_REPLACEMENTS,
    OCCUPANCY_TYPE_ABBREVIATIONS,
    STREET_TYPE_ABBREVIATIONS,
)


@dataclass(frozen=True, slots=True)
class NormalizedAddress:
    """A canonical street line: ``street`` without the unit, ``unit`` its identifier only."""

    street: str
    unit: str | None = None

    @property
    def full(self) -> str:
        return f"{self.street} #{self.unit}" if self.unit else self.street


# ---------------------------------------------------------------------------- route forms

# Streets named by a prefix and a number or letter: Texas routes ("FM 620", "IH 35W") and
# lettered avenues ("AVE G"). Canonical prefix → (the ways portals and CADs write it, what may
# follow). The tagger mislabels these (the "35W" of "1234 IH 35W" and the "G" of "2704 AVE G"
# become unit numbers), so each is swapped for one opaque name token before tagging.
_ROUTES: dict[str, tuple[str, str]] = {
    "FM": (r"FARM\s+TO\s+MARKET(?:\s+(?:ROAD|RD))?|F\s?M(?:\s+(?:ROAD|RD))?", r"\d+[A-Z]?"),
    "RM": (r"RANCH\s+TO\s+MARKET(?:\s+(?:ROAD|RD))?|R\s?M(?:\s+(?:ROAD|RD))?", r"\d+[A-Z]?"),
    "RR": (r"RANCH\s+(?:ROAD|RD)|RR", r"\d+[A-Z]?"),
    "IH": (r"INTERSTATE(?:\s+(?:HIGHWAY|HWY))?|IH|I", r"\d+[A-Z]?"),
    "US HWY": (r"(?:U\s?S|UNITED\s+STATES)(?:\s+(?:HIGHWAY|HWY|HY|ROUTE|RTE))?", r"\d+[A-Z]?"),
    "SH": (r"(?:STATE|TEXAS|TX)\s+(?:HIGHWAY|HWY|HY)|SH", r"\d+[A-Z]?"),
    "CR": (r"(?:COUNTY|CO)\s+(?:ROAD|RD)|CR", r"\d+[A-Z]?"),
    "LOOP": (r"LOOP|LP", r"\d+[A-Z]?"),
    "SPUR": (r"SPUR", r"\d+[A-Z]?"),
    "HWY": (r"HIGHWAY|HWY|HY", r"\d+[A-Z]?"),
    "AVE": (r"AVENUE|AVE|AV", r"(?<=\s)[A-Z]|\d+[A-Z]?"),
}
_ROUTE_CODES = {canonical: f"ROUTE{i}X" for i, canonical in enumerate(_ROUTES)}
_ROUTE_BY_CODE = {code: canonical for canonical, code in _ROUTE_CODES.items()}
# Recognised only as the street right after the house number (and a directional or
# "OLD"/"BUSINESS"), so a unit such as "RM 5" (room 5) later in the line stays a unit.
_ROUTE_HEAD = (
    r"^([^\s\d]*\d\S*(?:\s+1/2)?\s+"
    r"(?:(?:N|S|E|W|NE|NW|SE|SW|NORTH|SOUTH|EAST|WEST|OLD|BUS|BUSINESS)\s+){0,2})"
)
_ROUTE_PATTERNS = [
    (re.compile(rf"{_ROUTE_HEAD}(?:{spelling})\s*-?\s*({designator})\b"), _ROUTE_CODES[canonical])
    for canonical, (spelling, designator) in _ROUTES.items()
]
# A superset of all of them in one test, which rules out most lines before the eleven run.
_ROUTE_ANY = re.compile(
    rf"{_ROUTE_HEAD}(?:{'|'.join(spelling for spelling, _ in _ROUTES.values())})"
    r"\s*-?\s*(?:\d|(?<=\s)[A-Z]\b)"
)
_ROUTE_PLACEHOLDER = re.compile(r"^(ROUTE\d+X)([0-9A-Z]+)$")


def _protect_routes(text: str) -> str:
    if _ROUTE_ANY.match(text) is None:
        return text
    for pattern, code in _ROUTE_PATTERNS:
        found = pattern.match(text)
        if found is not None:
            return f"{found.group(1)}{code}{found.group(2)}{text[found.end() :]}"
    return text


def _restore_route(token: str) -> str:
    found = _ROUTE_PLACEHOLDER.match(token)
    if found is None:
        return token
    return f"{_ROUTE_BY_CODE[found.group(1)]} {found.group(2)}"


# ---------------------------------------------------------------------------- words

_ORDINAL_UNITS = {
    "FIRST": 1, "SECOND": 2, "THIRD": 3, "FOURTH": 4, "FIFTH": 5,
    "SIXTH": 6, "SEVENTH": 7, "EIGHTH": 8, "NINTH": 9,
}  # fmt: skip
_ORDINAL_WORDS = {
    **_ORDINAL_UNITS,
    "TENTH": 10, "ELEVENTH": 11, "TWELFTH": 12, "THIRTEENTH": 13, "FOURTEENTH": 14,
    "FIFTEENTH": 15, "SIXTEENTH": 16, "SEVENTEENTH": 17, "EIGHTEENTH": 18, "NINETEENTH": 19,
    "TWENTIETH": 20, "THIRTIETH": 30, "FORTIETH": 40, "FIFTIETH": 50,
    "SIXTIETH": 60, "SEVENTIETH": 70, "EIGHTIETH": 80, "NINETIETH": 90,
}  # fmt: skip
_TENS = {
    "TWENTY": 20, "THIRTY": 30, "FORTY": 40, "FIFTY": 50,
    "SIXTY": 60, "SEVENTY": 70, "EIGHTY": 80, "NINETY": 90,
}  # fmt: skip

# Name words CADs and portals abbreviate inconsistently ("SAINT LOUIS AVE" / "ST LOUIS AVE").
_NAME_WORDS = {"SAINT": "ST", "MOUNT": "MT", "FORT": "FT"}

_DIRECTIONS = {
    **DIRECTIONAL_REPLACEMENTS,
    **{abbreviation: abbreviation for abbreviation in DIRECTIONAL_REPLACEMENTS.values()},
}


def _ordinal(number: int) -> str:
    suffix = (
        "TH" if 10 <= number % 100 <= 20 else {1: "ST", 2: "ND", 3: "RD"}.get(number % 10, "TH")
    )
    return f"{number}{suffix}"


def _type_word(token: str) -> str:
    return str(STREET_TYPE_ABBREVIATIONS.get(token, token))


def _words(tokens: list[str]) -> list[str]:
    """Street-line words: ordinals as numbers, "MC CART" joined, directional and street-type
    words abbreviated wherever they stand ("EAST LANE" → "E LN", "MEADOW LANE TERRACE" →
    "MDW LN TER"): a matching key, not a mailing address."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if token in _TENS and following in _ORDINAL_UNITS:
            out.append(_ordinal(_TENS[token] + _ORDINAL_UNITS[following]))
            i += 2
            continue
        if token == "MC" and following is not None:
            out.append(token + following)
            i += 2
            continue
        if token in _ORDINAL_WORDS:
            out.append(_ordinal(_ORDINAL_WORDS[token]))
        else:
            out.append(_NAME_WORDS.get(token) or _DIRECTIONS.get(token) or _type_word(token))
        i += 1
    return out


def _unit(tokens: list[str]) -> str | None:
    """The unit's identifier alone: "APT 03B", "UNIT 3-B" and "# 3B" are all unit "3B"."""
    identifier = [t for t in tokens if t not in ("#", "NO")]
    if not identifier:
        return None
    return " ".join(t.replace("-", "").lstrip("0") or "0" for t in identifier)


# ---------------------------------------------------------------------------- normalise


# The street line's labels. Within it only the house number is treated by its label: the tagger
# labels the same word differently as context changes ("RIDGE" in "CHAPEL RIDGE WAY" is a name
# or a street type depending on whether a city follows), so every other word is canonicalised
# the same way whatever its label, and the line keeps the order it was written in.
_STREET_LABELS = frozenset(
    {
        "AddressNumberPrefix",
        "AddressNumber",
        "AddressNumberSuffix",
        "StreetNamePreModifier",
        "StreetNamePreDirectional",
        "StreetNamePreType",
        "StreetName",
        "StreetNamePostType",
        "StreetNamePostDirectional",
        "StreetNamePostModifier",
    }
)
_UNIT_LABELS = frozenset({"SubaddressIdentifier", "OccupancyIdentifier"})
_PUNCTUATION = re.compile(r"[.;:()\"`]|(?<=[A-Z])-(?=[A-Z])")
_COMMA = re.compile(r"\s*,[\s,]*")
_APOSTROPHE = re.compile(r"['’]")
_TWO_WORD_DIRECTION = re.compile(r"\b(NORTH|SOUTH)[\s-]+(EAST|WEST)\b")
_SPACES = re.compile(r"\s+")
_ALREADY_CLEAN = re.compile(r"[A-Z0-9]+(?: [A-Z0-9]+)*")


def clean(text: str) -> str:
    """Upper case, punctuation dropped, "NORTH WEST" → "NORTHWEST", "#84" → "# 84", single
    spaces. Commas stay: they tell the tagger where the street ends and the city begins."""
    if _ALREADY_CLEAN.fullmatch(text):  # as CADs write it; the common case, kept cheap
        return _TWO_WORD_DIRECTION.sub(r"\1\2", text)
    text = _APOSTROPHE.sub("", text.upper())
    text = _TWO_WORD_DIRECTION.sub(r"\1\2", text)
    text = _PUNCTUATION.sub(" ", text).replace("#", " # ")
    text = _COMMA.sub(", ", _SPACES.sub(" ", text))
    return text.strip(" ,")


@lru_cache(maxsize=200_000)
def normalize_address(text: str | None) -> NormalizedAddress | None:
    """The canonical form of a street line (city, state and ZIP, if present, are dropped)."""
    if not text:
        return None
    cleaned = clean(text)
    plain = _plain_street_line(cleaned)
    if plain is not None:
        return NormalizedAddress(" ".join([plain[0].lstrip("0") or "0", *_words(plain[1:])]))
    return _tagged_street_line(cleaned)


def _tagged_street_line(cleaned: str) -> NormalizedAddress | None:
    labelled = [
        (_restore_route(token.rstrip(",")), label)
        for token, label in usaddress.parse(_protect_routes(cleaned))
    ]
    numbers = [token for token, label in labelled if label == "AddressNumber"]
    if not any(char.isdigit() for char in "".join(numbers)):
        return None  # the tagger calls a leading word a house number when there is none
    if all(label != "StreetName" for _, label in labelled):
        return None
    street: list[str] = []
    in_street = (pair for pair in labelled if pair[1] in _STREET_LABELS)
    for is_number, group in groupby(in_street, lambda pair: pair[1] == "AddressNumber"):
        tokens = [token for token, _ in group]
        street.extend([t.lstrip("0") or "0" for t in tokens] if is_number else _words(tokens))
    unit = _unit([token for token, label in labelled if label in _UNIT_LABELS])
    return NormalizedAddress(street=" ".join(street), unit=unit)


# Most lines are just "NUMBER NAME… TYPE [DIRECTION]" ("704 E WEATHERFORD ST"): every word is
# part of the street, so the tagger (the cost of normalising) has nothing to decide. Anything
# else — a unit, a comma before a city, a route, a ZIP, a fraction — goes to the tagger.
_PLAIN_LINE = re.compile(r"^\d+(?: [A-Z][A-Z0-9]*){2,6}$")
_UNIT_WORDS = (
    frozenset(OCCUPANCY_TYPE_ABBREVIATIONS)
    | frozenset(OCCUPANCY_TYPE_ABBREVIATIONS.values())
    | {"NO"}
)


def _plain_street_line(cleaned: str) -> list[str] | None:
    if _PLAIN_LINE.match(cleaned) is None or _ROUTE_ANY.match(cleaned) is not None:
        return None
    tokens = cleaned.split(" ")
    if not _UNIT_WORDS.isdisjoint(tokens):
        return None
    street_type = tokens[-2] if tokens[-1] in _DIRECTIONS else tokens[-1]
    return tokens if street_type in STREET_TYPE_ABBREVIATIONS else None


@lru_cache(maxsize=10_000)
def normalize_city(text: str | None) -> str | None:
    """City names compared the way street names are: "Ft. Worth" and "FORT WORTH" agree."""
    if not text:
        return None
    words = clean(text).replace(",", " ").split()
    return " ".join(_NAME_WORDS.get(word, word) for word in words) or None
