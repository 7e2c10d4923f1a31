"""City of Austin issued-permit report (CSV, one row per trade permit)."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path

from schemas.permits import RawPermit
from services.ingest.values import (
    blank_to_none,
    collapse_spaces,
    join_words,
    parse_date,
    parse_float,
    parse_money,
    us_zip,
)

JURISDICTION = "austin_tx"

# Austin pulls one permit per trade; the suffix of the permit number says which.
TRADE_SUFFIXES = {
    "BP": "Building Permit (BP)",
    "EP": "Electrical Permit (EP)",
    "MP": "Mechanical Permit (MP)",
    "PP": "Plumbing Permit (PP)",
    "DS": "Driveway/Sidewalk Permit (DS)",
}

# "Steve Smith, Acme Inc." is a person and a company; "Acme Homes, LLC" is one company.
_COMPANY_SUFFIXES = {"inc", "llc", "ltd", "lp", "llp", "pllc", "co", "corp", "company"}
_NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}


def read_rows(path: Path, encoding: str = "utf-8") -> Iterator[dict[str, str]]:
    # Descriptions can hold line breaks and commas: only a CSV parser reads them right.
    with path.open(newline="", encoding=encoding) as handle:
        yield from csv.DictReader(handle)


def trade_permit_type(permit_number: str) -> str | None:
    """``"2015-012345 EP"`` → ``"Electrical Permit (EP)"``; None when there is no suffix."""
    suffix = permit_number.strip().rsplit(" ", 1)[-1].upper()
    return TRADE_SUFFIXES.get(suffix)


def split_folder_owner(value: str | None) -> tuple[str | None, str | None]:
    """The permit holder, ``"Name, Company"`` → (person, company)."""
    text = blank_to_none(value)
    if text is None:
        return None, None
    if "," not in text:
        return None, text
    person, company = (part.strip() for part in text.split(",", 1))
    if _first_word(company) in _NAME_SUFFIXES:  # "Ula Jackson, Jr., Jackson Electric, Inc."
        suffix, _, company = company.partition(",")
        person = f"{person}, {suffix.strip()}"
    company = company.strip(" ,")
    if not company:
        return person or None, None
    if _first_word(company) in _COMPANY_SUFFIXES:  # "Pacesetter Homes, llc" is all company
        return None, text.strip(" ,")
    return person or None, company


def _first_word(text: str) -> str:
    return text.split(" ", 1)[0].replace(".", "").strip(",").lower()


def to_raw_permit(row: Mapping[str, str], scraped_at: datetime) -> RawPermit:
    permit_number = row.get("permit_number") or ""
    applicant, contractor = split_folder_owner(row.get("folder_owner"))
    valuation = parse_money("total_job_valuation", row.get("total_job_valuation"))
    if valuation is None:
        valuation = parse_money("total_valuation_remodel", row.get("total_valuation_remodel"))
    county = blank_to_none(row.get("county"))
    return RawPermit(
        jurisdiction=JURISDICTION,
        permit_number=permit_number,
        # city/zip/county come from the report's geocoder and are often blank; the state
        # is always Texas (the geocoder sometimes guesses another).
        city=row.get("city"),
        state="TX",
        zip_code=us_zip(row.get("postal_code"), "postal_code"),
        county=county.removesuffix(" County") if county else None,
        property_address=collapse_spaces(row.get("permit_location")),
        permit_type=trade_permit_type(permit_number),
        permit_class=collapse_spaces(row.get("sub_type")),
        work_type=row.get("work_type"),
        work_description=row.get("work_description"),
        valuation=valuation,
        applicant_name=applicant,
        contractor_name=contractor,
        owner_name=row.get("property_owner"),
        owner_mailing_address=join_words(
            row.get("property_owner_addrhouse"),
            row.get("property_owner_addrstreet"),
            row.get("property_owner_addrstreettype"),
            row.get("property_owner_addrunittype"),
            row.get("property_owner_addrunit"),
        ),
        owner_mailing_city=row.get("property_owner_addrcity"),
        owner_mailing_zip=us_zip(row.get("property_owner_addrpostal"), "property_owner_addrpostal"),
        issued_date=parse_date("date_issued", row.get("date_issued"), "%m/%d/%Y"),
        status=row.get("status"),
        latitude=parse_float("lat", row.get("lat")),
        longitude=parse_float("lng", row.get("lng")),
        scraped_at=scraped_at,
    )
