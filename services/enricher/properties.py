"""A CAD account as the import validates it and the ``properties`` table keeps it."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from services.enricher.address import normalize_address

_NOT_ALPHANUMERIC = re.compile(r"[^0-9A-Z]")
_CENT = Decimal("0.01")


def county_key(name: str) -> str:
    """ "Tarrant", "TARRANT COUNTY" and " tarrant " are the county ``tarrant``."""
    return name.strip().lower().removesuffix(" county").strip()


def parcel_key(value: str) -> str:
    """Ids compare without case, spaces or separators, and without leading zeros when numeric:
    "00001309" and "1309" are one account, "14437-29-32" and "14437 29 32" one parcel."""
    key = _NOT_ALPHANUMERIC.sub("", value.upper())
    return (key.lstrip("0") or key) if key.isdigit() else key


def _identifier(value: Any) -> Any:
    if isinstance(value, int | str) and not isinstance(value, bool):
        return parcel_key(str(value)) or None
    return value


def _amount(value: Any) -> Any:
    """Dollar amounts as CAD exports write them (350000, 350000.5, "$350,000.00"), to cents."""
    if isinstance(value, bool):
        return value  # pydantic reports it as not a number
    if isinstance(value, str):
        value = value.strip().replace("$", "").replace(",", "")
        if not value:
            return None
    if isinstance(value, int | float | str):
        try:
            return Decimal(str(value)).quantize(_CENT)
        except InvalidOperation:
            return value  # pydantic reports it as not a number
    return value


def _unknown_if_zero(value: Any) -> Any:
    """Exports write 0 for an unknown year built or living area (a vacant lot has neither)."""
    value = _amount(value)
    return None if value == 0 else value


def _upper(value: Any) -> Any:
    return (value.strip().upper() or None) if isinstance(value, str) else value


def _zip5(value: Any) -> Any:
    """ZIP+4 and numbers read from spreadsheets ("76102-1234", 76102) to "76102"."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:05d}"
    if isinstance(value, str):
        digits = value.strip()[:5]
        return digits or None
    return value


Identifier = Annotated[str, BeforeValidator(_identifier), Field(min_length=1, max_length=64)]
City = Annotated[Annotated[str, Field(max_length=128)] | None, BeforeValidator(_upper)]
Zip = Annotated[Annotated[str, Field(pattern=r"^\d{5}$")] | None, BeforeValidator(_zip5)]
Amount = Annotated[
    Annotated[Decimal, Field(ge=0, max_digits=14)] | None,
    BeforeValidator(_amount),
]
YearBuilt = Annotated[
    Annotated[int, Field(ge=1700, le=2100)] | None, BeforeValidator(_unknown_if_zero)
]
Area = Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_unknown_if_zero)]


class CadRecord(BaseModel):
    """An account as read from any CAD export, validated; field names are the table's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_missing(cls, data: Any) -> Any:
        """CSV cells are "" (and JSON strings often "  ") where the export has no value."""
        if isinstance(data, dict):
            return {k: (v.strip() or None) if isinstance(v, str) else v for k, v in data.items()}
        return data

    account_id: Identifier
    parcel_id: Annotated[
        Annotated[str, Field(max_length=64)] | None, BeforeValidator(_identifier)
    ] = None
    situs_address: Annotated[str | None, Field(max_length=256)] = None
    situs_city: City = None
    situs_zip: Zip = None
    owner_name: Annotated[str | None, Field(max_length=256)] = None
    owner_mailing_address: Annotated[str | None, Field(max_length=256)] = None
    owner_mailing_city: City = None
    owner_mailing_state: Annotated[
        Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None, BeforeValidator(_upper)
    ] = None
    owner_mailing_zip: Zip = None
    market_value: Amount = None
    homestead: bool | None = None
    year_built: YearBuilt = None
    living_area: Area = None
    land_use: Annotated[str | None, Field(max_length=64)] = None


def property_row(county: str, record: CadRecord) -> dict[str, Any]:
    """The ``properties`` columns for ``record``, with the normalised situs and content hash.

    The hash covers the normalised columns too, so re-importing after a normaliser change
    rewrites the rows it affects (and only those).
    """
    situs = normalize_address(record.situs_address)
    row: dict[str, Any] = {
        "county": county_key(county),
        **record.model_dump(),
        "situs_normalized": situs.full if situs else None,
        "situs_street": situs.street if situs else None,
        # A unit identifier longer than the column is noise from a mis-parsed line.
        "situs_unit": situs.unit[:32] if situs and situs.unit else None,
    }
    row["content_hash"] = content_hash(row)
    return row


def content_hash(row: dict[str, Any]) -> str:
    canonical = json.dumps(row, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
