"""Which appraisal-district account a permit is about: the match cascade (pure).

1. ``parcel``: the permit's parcel id is the account's parcel or account id.
2. ``address_unit``: the normalised street line *and unit* equal the account's situs (a house
   without units matches here too: both units are "none").
3. ``address``: the street line equals, ignoring the unit the permit gave, and the account is the
   only one at that street address and has no unit itself ("1814 HARRINGTON AVE APT B" is the
   single-account duplex at 1814 Harrington Ave; a condo building has many accounts, so it is
   never matched this way).

Each rule must find exactly one account in the permit's locality (county, ZIP and city where
both sides know them); two or more is ambiguous and falls through to the next rule, then to
``none``. A house number and a street are always both required: a street alone never matches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from schemas.permits import RawPermit
from schemas.taxonomy import MatchKind
from services.enricher.address import NormalizedAddress, normalize_address, normalize_city
from services.enricher.properties import county_key, parcel_key


@dataclass(frozen=True, slots=True)
class PropertyFacts:
    """The columns of one ``properties`` row that enrichment uses."""

    county: str
    account_id: str
    parcel_id: str | None
    situs_address: str | None
    situs_normalized: str | None
    situs_street: str | None
    situs_unit: str | None
    situs_city: str | None
    situs_zip: str | None
    owner_name: str | None
    owner_mailing_address: str | None
    owner_mailing_city: str | None
    owner_mailing_state: str | None
    owner_mailing_zip: str | None
    market_value: Decimal | None
    homestead: bool | None
    year_built: int | None
    living_area: int | None
    land_use: str | None
    units_at_situs: int
    # Against the local market (recomputed by every import; null where too few parcels).
    market_value_percentile_county: float | None = None
    market_value_percentile_zip: float | None = None
    county_median_market_value: Decimal | None = None
    zip_median_market_value: Decimal | None = None

    @property
    def situs(self) -> NormalizedAddress | None:
        if self.situs_street is None:
            return None
        return NormalizedAddress(self.situs_street, self.situs_unit)


@dataclass(frozen=True, slots=True)
class MatchRequest:
    """What a permit offers to match on, normalised like the stored accounts."""

    parcel: str | None
    address: NormalizedAddress | None
    county: str | None
    city: str | None
    zip: str | None

    @classmethod
    def for_permit(cls, permit: RawPermit) -> MatchRequest:
        return cls(
            parcel=(parcel_key(permit.parcel_id) or None) if permit.parcel_id else None,
            address=normalize_address(permit.property_address),
            county=county_key(permit.county) if permit.county else None,
            city=normalize_city(permit.city),
            zip=permit.zip_code[:5] if permit.zip_code else None,
        )

    def is_in_locality(self, facts: PropertyFacts) -> bool:
        """False only when both sides know the county, ZIP or city and they differ."""
        if self.county is not None and facts.county != self.county:
            return False
        if self.zip is not None and facts.situs_zip is not None and facts.situs_zip != self.zip:
            return False
        city = normalize_city(facts.situs_city)
        return self.city is None or city is None or city == self.city


@dataclass
class Candidates:
    """Accounts fetched for a batch of requests, indexed by what each rule looks up."""

    by_id: dict[str, list[PropertyFacts]] = field(default_factory=lambda: defaultdict(list))
    by_address: dict[str, list[PropertyFacts]] = field(default_factory=lambda: defaultdict(list))
    by_single_unit_street: dict[str, list[PropertyFacts]] = field(
        default_factory=lambda: defaultdict(list)
    )

    @classmethod
    def index(cls, rows: Iterable[PropertyFacts]) -> Candidates:
        candidates = cls()
        for facts in rows:
            candidates.by_id[facts.account_id].append(facts)
            if facts.parcel_id and facts.parcel_id != facts.account_id:
                candidates.by_id[facts.parcel_id].append(facts)
            if facts.situs_normalized:
                candidates.by_address[facts.situs_normalized].append(facts)
            if facts.situs_street is not None and is_single_unit(facts):
                candidates.by_single_unit_street[facts.situs_street].append(facts)
        return candidates


def is_single_unit(facts: PropertyFacts) -> bool:
    """Alone at its street address and without a unit of its own."""
    return facts.situs_street is not None and facts.situs_unit is None and facts.units_at_situs == 1


def find_property(
    request: MatchRequest, candidates: Candidates
) -> tuple[MatchKind, PropertyFacts | None]:
    """The one account the permit is about and the rule that found it, or ``none``."""
    if request.parcel is not None:
        found = _only(request, candidates.by_id.get(request.parcel, ()))
        if found is not None:
            return MatchKind.PARCEL, found
    if request.address is not None:
        found = _only(request, candidates.by_address.get(request.address.full, ()))
        if found is not None:
            return MatchKind.ADDRESS_UNIT, found
        if request.address.unit is not None:
            street = candidates.by_single_unit_street.get(request.address.street, ())
            found = _only(request, street)
            if found is not None:
                return MatchKind.ADDRESS, found
    return MatchKind.NONE, None


def _only(request: MatchRequest, accounts: Iterable[PropertyFacts]) -> PropertyFacts | None:
    local = {(f.county, f.account_id): f for f in accounts if request.is_in_locality(f)}
    return next(iter(local.values())) if len(local) == 1 else None
