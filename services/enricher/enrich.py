"""A categorised permit + its CAD account → an enriched permit or a discard (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from schemas.discards import DiscardedPermit
from schemas.permits import CategorizedPermit, EnrichedPermit, PropertyMatch, RawPermit
from schemas.taxonomy import Category, MatchKind
from services.enricher.absentee import Place, absentee
from services.enricher.matching import PropertyFacts
from services.enricher.properties import county_key

STAGE = "enricher"

# (owner name, the permit's category) → the builder phrase it matched, or None.
BuilderCheck = Callable[[str, Category], str | None]


def enrich(
    item: CategorizedPermit,
    match: MatchKind,
    facts: PropertyFacts | None,
    *,
    owner_is_builder: BuilderCheck,
    rules_version: str | None,
    discarded_at: datetime,
) -> EnrichedPermit | DiscardedPermit:
    """Add the account's facts; discard what property data shows is no lead
    (docs/enricher.md, "What a permit gets").

    Discards, in order: ``production_builder`` when the appraisal-district owner is one (the
    categorizer already judged the portal's names), ``no_data`` when there is neither an owner
    name nor a market value.
    """
    cad = property_match(item.permit, match, facts)

    def discard(reason: str, detail: str) -> DiscardedPermit:
        return DiscardedPermit(
            permit=item.permit,
            reason=reason,
            detail=detail,
            stage=STAGE,
            rules_version=rules_version,
            categorization=item.categorization,
            cad=cad,
            discarded_at=discarded_at,
        )

    if facts is not None and facts.owner_name:
        builder = owner_is_builder(facts.owner_name, item.categorization.category)
        if builder is not None:
            return discard(
                "production_builder",
                f"appraisal-district owner {facts.owner_name!r} of account {facts.account_id}"
                f" is a production builder ({builder!r})",
            )
    if cad.owner_name is None and cad.market_value is None:
        where = (
            f"account {facts.account_id} has neither" if facts else "no appraisal-district match"
        )
        return discard("no_data", f"no owner name and no market value ({where})")
    return EnrichedPermit(permit=item.permit, categorization=item.categorization, cad=cad)


def property_match(
    permit: RawPermit, match: MatchKind, facts: PropertyFacts | None
) -> PropertyMatch:
    """The account's facts; the appraisal district wins over what the portal said.

    Without a match the portal's owner name and mailing address still count (and still give
    an absentee answer). The portal's applicant is not taken as the owner: it is usually the
    contractor.
    """
    portal_mailing = Place(
        permit.owner_mailing_address, permit.owner_mailing_city, permit.owner_mailing_zip
    )
    if facts is None:
        situs = Place(permit.property_address, permit.city, permit.zip_code)
        mailing = portal_mailing
    else:
        situs = Place(
            facts.situs_address,
            permit.city or facts.situs_city,
            permit.zip_code or facts.situs_zip,
            street_line=facts.situs,
        )
        mailing = _cad_mailing(facts, situs) or portal_mailing
    is_absentee, basis = absentee(mailing, situs)
    state = facts.owner_mailing_state if facts else None
    return PropertyMatch(
        match=match,
        county=facts.county if facts else (county_key(permit.county) if permit.county else None),
        account_id=facts.account_id if facts else None,
        market_value=float(facts.market_value)
        if facts and facts.market_value is not None
        else None,
        owner_name=(facts.owner_name if facts else None) or permit.owner_name,
        owner_mailing_address=_one_line(mailing, state),
        is_absentee=is_absentee,
        absentee_basis=basis,
        homestead=facts.homestead if facts else None,
        year_built=facts.year_built if facts else None,
        square_feet=facts.living_area if facts else None,
        land_use=facts.land_use if facts else None,
        market_value_percentile_county=facts.market_value_percentile_county if facts else None,
        market_value_percentile_zip=facts.market_value_percentile_zip if facts else None,
        county_median_market_value=_dollars(facts.county_median_market_value if facts else None),
        zip_median_market_value=_dollars(facts.zip_median_market_value if facts else None),
    )


def _dollars(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _cad_mailing(facts: PropertyFacts, situs: Place) -> Place | None:
    mailing = Place(facts.owner_mailing_address, facts.owner_mailing_city, facts.owner_mailing_zip)
    if not mailing.is_known():
        return None
    if facts.owner_mailing_address == facts.situs_address:
        # Most owners live at the property and the CAD writes both lines alike: already parsed.
        return replace(mailing, street_line=situs.street_line)
    return mailing


def _one_line(place: Place, state: str | None) -> str | None:
    """ "1913 ASH CRESCENT ST, FORT WORTH, TX 76104" from whichever parts are known."""
    region = " ".join(part for part in (state, place.zip) if part)
    return ", ".join(part for part in (place.line, place.city, region) if part) or None
