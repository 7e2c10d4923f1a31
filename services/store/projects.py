"""One lead per project: which permits are one job, and which lead a later permit joins (pure).

A job often pulls several permits (Austin files one per trade: BP, EP, MP, PP), and a second
permit for the same job can arrive weeks later. Sold as separate leads, a buyer pays twice for
one job. So the store folds them: permits of the same **property** and the same **category**
whose **project dates** lie within ``PROJECT_WINDOW`` of each other are one project. The first
one stored is the lead (a buyer may already hold it); each later one is stored as a discard
with reason ``duplicate`` naming that lead, and the lead lists it in ``related_permits``.

- The property is, strongest first: the appraisal-district account the enricher matched, else
  the permit's parcel id (within its county), else its normalised street line and unit (within
  its jurisdiction; the enricher's normaliser, so "123 N Main St" and "123 NORTH MAIN STREET"
  agree). Not within its city: a portal covers one city or county, and portals leave the city
  blank too often (73 % of the Austin export) for it to tell properties apart. A permit with
  none of them is never folded.
- The project date is the issue date, else the application date, else the day it was scraped
  (UTC). A permit with none is never folded.
- The window is measured against the lead, not chained from permit to permit, so a project spans
  at most 90 days either side of its lead. A permit that arrives later but was issued earlier
  joins too.
- When several leads of a property and category are within the window (two projects 150 days
  apart, and a permit in between), the permit joins the first stored.
- A permit that already has a lead (a re-scrape, a re-score, a RETRY that got its score) stays a
  lead: it is never folded into another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, timedelta
from typing import Any

from schemas.permits import Categorization, PropertyMatch, RawPermit
from schemas.taxonomy import MatchKind
from services.enricher.address import normalize_address
from services.enricher.properties import county_key, parcel_key

PROJECT_WINDOW = timedelta(days=90)
DUPLICATE = "duplicate"

RelatedPermit = dict[str, Any]


def property_identity(permit: RawPermit, cad: PropertyMatch) -> str | None:
    """``cad:<county>:<account>``, ``parcel:<county>:<parcel>`` or ``address:<jurisdiction>:
    <street line>``; None when the permit says too little to tell its property."""
    if cad.match is not MatchKind.NONE and cad.county and cad.account_id:
        return f"cad:{county_key(cad.county)}:{parcel_key(cad.account_id)}"
    parcel = parcel_key(permit.parcel_id) if permit.parcel_id else ""
    if parcel:
        county = permit.county or cad.county
        scope = county_key(county) if county else permit.jurisdiction
        return f"parcel:{scope}:{parcel}"
    address = normalize_address(permit.property_address)
    if address is None:
        return None
    return f"address:{permit.jurisdiction}:{address.full}"


def project_key(
    permit: RawPermit, categorization: Categorization, cad: PropertyMatch
) -> str | None:
    """The property and the category: ``address:austin_tx:123 N MAIN ST|roof``."""
    identity = property_identity(permit, cad)
    return None if identity is None else f"{identity}|{categorization.category.value}"


def project_date(permit: RawPermit) -> date | None:
    """Issued, else applied, else scraped (UTC day): the date the 90 days are counted on."""
    if permit.issued_date is not None:
        return permit.issued_date
    if permit.applied_date is not None:
        return permit.applied_date
    if permit.scraped_at is not None:
        scraped = permit.scraped_at
        aware = scraped if scraped.tzinfo is not None else scraped.replace(tzinfo=UTC)
        return aware.astimezone(UTC).date()
    return None


def project_lock_id(key: str) -> int:
    """A signed 64-bit id for ``pg_advisory_xact_lock``: one project, one lock (a collision
    only makes two projects wait for each other)."""
    digest = hashlib.sha256(f"leadstream.project:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class ProjectLead:
    """A lead as the decision sees it; ``order`` says which was stored first."""

    permit_key: str
    project_key: str
    project_date: date | None
    order: tuple[int, int]  # (0, row id) when stored, (1, position in the batch) when new


@dataclass(frozen=True)
class IncomingLead:
    """A lead message about to be stored; ``has_lead``: its permit already is a lead."""

    permit_key: str
    project_key: str | None
    project_date: date | None
    has_lead: bool


def within_window(first: date | None, second: date | None) -> bool:
    return first is not None and second is not None and abs(first - second) <= PROJECT_WINDOW


def lead_to_join(incoming: IncomingLead, leads: Iterable[ProjectLead]) -> ProjectLead | None:
    """The first stored lead of another permit of the same project within the window, if any."""
    if incoming.has_lead or incoming.project_key is None:
        return None
    joinable = [
        lead
        for lead in leads
        if lead.project_key == incoming.project_key
        and lead.permit_key != incoming.permit_key
        and within_window(lead.project_date, incoming.project_date)
    ]
    return min(joinable, key=lambda lead: lead.order, default=None)


def decide_projects(
    incoming: Sequence[IncomingLead], stored: Iterable[ProjectLead]
) -> dict[str, ProjectLead | None]:
    """For each incoming lead (one per permit, in arrival order): the lead it joins, or None
    when it is (or stays) a lead itself. A lead created earlier in the batch is joined like a
    stored one; a stored lead re-scraped in the batch is judged by its new project and date."""
    leads = {lead.permit_key: lead for lead in stored}
    for lead in incoming:
        if lead.has_lead and lead.project_key is not None and lead.permit_key in leads:
            leads[lead.permit_key] = replace(
                leads[lead.permit_key], project_key=lead.project_key, project_date=lead.project_date
            )
    # Grouped by project, so a batch of n leads is not n × n comparisons.
    by_project: dict[str, dict[str, ProjectLead]] = {}
    for known in leads.values():
        by_project.setdefault(known.project_key, {})[known.permit_key] = known
    decisions: dict[str, ProjectLead | None] = {}
    for position, lead in enumerate(incoming):
        project = by_project.get(lead.project_key or "", {})
        joins = lead_to_join(lead, project.values())
        decisions[lead.permit_key] = joins
        if joins is None and not lead.has_lead and lead.project_key is not None:
            if (previous := leads.get(lead.permit_key)) is not None:
                del by_project[previous.project_key][lead.permit_key]
            created = ProjectLead(
                lead.permit_key, lead.project_key, lead.project_date, order=(1, position)
            )
            leads[lead.permit_key] = created
            by_project.setdefault(lead.project_key, {})[lead.permit_key] = created
    return decisions


def related_permit(permit: RawPermit, categorization: Categorization) -> RelatedPermit:
    """What a lead shows of a permit that joined it (JSON-ready)."""
    return {
        "permit_key": permit.key,
        "permit_id": permit.permit_number,
        "permit_type": permit.permit_type,
        "category": categorization.category.value,
        "issued_date": permit.issued_date.isoformat() if permit.issued_date else None,
        "valuation": permit.valuation,
    }


def merge_related(
    current: Sequence[RelatedPermit], added: Iterable[RelatedPermit], removed: Collection[str]
) -> list[RelatedPermit]:
    """A lead's related permits after some joined (or joined again, newer) and some left;
    one entry per permit, ordered by issue date (undated last), then permit key."""
    by_key = {entry["permit_key"]: entry for entry in current if entry["permit_key"] not in removed}
    by_key.update((entry["permit_key"], entry) for entry in added)
    return sorted(
        by_key.values(),
        key=lambda e: (e["issued_date"] is None, e["issued_date"] or "", e["permit_key"]),
    )


def duplicate_detail(lead: ProjectLead) -> str:
    """The discard's detail: which lead the permit joined, and why it is the same project."""
    when = lead.project_date.isoformat() if lead.project_date else "undated"
    return (
        f"same project as lead {lead.permit_key} (property and category {lead.project_key}, "
        f"within {PROJECT_WINDOW.days} days of its {when})"
    )
