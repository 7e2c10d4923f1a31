"""Is the owner absentee: does their mailing address differ from the property's (pure)?"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.enricher.address import NormalizedAddress, normalize_address, normalize_city


class AbsenteeBasis(StrEnum):
    """What ``is_absentee`` compared (``PropertyMatch.absentee_basis``)."""

    ADDRESS = "address"
    CITY_ZIP = "city_zip"


@dataclass(frozen=True, slots=True)
class Place:
    """An address as far as it is known; ``street_line`` is ``line`` normalised, when the
    caller already has it (the import stored it for every situs)."""

    line: str | None = None
    city: str | None = None
    zip: str | None = None
    street_line: NormalizedAddress | None = None

    def normalized_line(self) -> NormalizedAddress | None:
        return self.street_line if self.street_line is not None else normalize_address(self.line)

    @property
    def zip5(self) -> str | None:
        return self.zip[:5] if self.zip else None

    def is_known(self) -> bool:
        return bool(self.line or self.city or self.zip)


def absentee(mailing: Place, situs: Place) -> tuple[bool | None, AbsenteeBasis | None]:
    """``(is_absentee, basis)``; ``(None, None)`` when nothing comparable is known.

    Street lines are compared when both parse as street addresses (a PO box says nothing about
    where the owner lives, so it falls back to city/ZIP); a differing ZIP or city counts either
    way ("100 MAIN ST, DALLAS" is not the owner of 100 Main St in Fort Worth).
    """
    other_zip = mailing.zip5 is not None and situs.zip5 is not None and mailing.zip5 != situs.zip5
    mailing_city, situs_city = normalize_city(mailing.city), normalize_city(situs.city)
    other_city = mailing_city is not None and situs_city is not None and mailing_city != situs_city
    mailing_line, situs_line = mailing.normalized_line(), situs.normalized_line()
    if mailing_line is not None and situs_line is not None:
        return mailing_line != situs_line or other_zip or other_city, AbsenteeBasis.ADDRESS
    if mailing.zip5 is not None and situs.zip5 is not None:
        return other_zip, AbsenteeBasis.CITY_ZIP
    if mailing_city is not None and situs_city is not None:
        return other_city, AbsenteeBasis.CITY_ZIP
    return None, None
