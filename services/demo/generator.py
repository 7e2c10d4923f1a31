"""A deterministic generator of realistic permits (and the appraisal records they match).

The demo and ``make feed`` use it instead of real portal data, which stays outside the repo.
It covers what the pipeline must handle: every trade, homeowners and custom builders,
production builders, junk projects, commercial work, stale and undated permits, permits with
nothing to go on, and absentee owners. Same seed and as-of date → the same permits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from schemas import RawPermit

CITIES = [  # city, county, ZIPs, street names: a DFW-like mix of wealth
    (
        "Southlake",
        "Tarrant",
        ["76092"],
        ["Shady Oaks Dr", "Carroll Ave", "Dove Rd", "Byron Nelson Pkwy"],
    ),
    (
        "Plano",
        "Collin",
        ["75024", "75093"],
        ["Preston Meadow Dr", "W Park Blvd", "Custer Rd", "Lorimar Dr"],
    ),
    ("Frisco", "Collin", ["75034"], ["Main St", "Legacy Dr", "Eldorado Pkwy", "Coit Rd"]),
    (
        "Fort Worth",
        "Tarrant",
        ["76107", "76116"],
        ["Camp Bowie Blvd", "Crestline Rd", "W 7th St", "Bellaire Dr S"],
    ),
    (
        "Dallas",
        "Dallas",
        ["75205", "75214"],
        ["Beverly Dr", "Lakewood Blvd", "N Central Expy", "Swiss Ave"],
    ),
    ("Denton", "Denton", ["76201"], ["Oak St", "Bell Ave", "Hickory St", "N Elm St"]),
]
FIRST = [
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Patricia",
    "David",
    "Jennifer",
    "Carlos",
    "Susan",
    "Thomas",
    "Karen",
    "Daniel",
    "Nancy",
    "Anh",
    "Priya",
    "William",
    "Elizabeth",
]
LAST = [
    "Smith",
    "Garcia",
    "Johnson",
    "Nguyen",
    "Williams",
    "Brown",
    "Martinez",
    "Davis",
    "Patel",
    "Wilson",
    "Anderson",
    "Thompson",
    "Hernandez",
    "Moore",
    "Clark",
    "Lewis",
]
CONTRACTORS = [
    "Blue Haven Pools",
    "Premier Roofing LLC",
    "Lone Star Air",
    "Texas Custom Patios",
    "Reliant Plumbing",
    "Mister Sparky",
    "SunPower by Solar Texas",
    "Olshan Foundation",
    "Artisan Custom Homes",
    "Heritage Fence Co",
    "Renewal by Andersen",
]
PRODUCTION_BUILDERS = [
    "Lennar Homes of Texas",
    "D.R. Horton - Texas Ltd",
    "Pulte Homes",
    "Highland Homes",
    "Perry Homes",
    "David Weekley Homes",
    "Bloomfield Homes LP",
]

# (permit type, description template, valuation range): the work people actually file.
SELLABLE = [
    ("Residential Pool", "New in-ground gunite pool and spa with water feature", (45_000, 140_000)),
    ("Residential Pool", "Fiberglass pool installation with travertine deck", (38_000, 90_000)),
    ("Residential Building", "Covered patio with outdoor kitchen and pergola", (18_000, 75_000)),
    ("Residential Building", "New cedar deck 400 sq ft with shade structure", (9_000, 30_000)),
    ("Fence", "8 ft board-on-board cedar privacy fence, 220 linear ft", (6_000, 14_000)),
    (
        "Roofing",
        "Re-roof: tear off and replace with architectural shingles, 38 squares",
        (14_000, 38_000),
    ),
    ("Roofing", "Standing seam metal roof replacement", (30_000, 75_000)),
    (
        "Mechanical",
        "Install new 5 ton heat pump system and ductwork for addition",
        (12_000, 26_000),
    ),
    (
        "Plumbing",
        "Repipe whole house with PEX, new tankless water heater and gas line",
        (9_000, 22_000),
    ),
    ("Electrical", "Install Level 2 EV charger and 200 amp service upgrade", (3_500, 9_000)),
    ("Electrical", "Whole-home standby generator 24kW with transfer switch", (12_000, 22_000)),
    ("Solar", "Roof-mounted photovoltaic system 9.6 kW with battery storage", (28_000, 55_000)),
    (
        "Residential Building",
        "Foundation repair: install 18 pressed piers, slab leveling",
        (12_000, 35_000),
    ),
    ("Residential Building", "Room addition 600 sq ft master suite", (90_000, 220_000)),
    (
        "Residential Building",
        "Kitchen remodel and two bathroom remodels, interior finish",
        (45_000, 160_000),
    ),
    ("Residential Building", "Replace 14 windows and french door, same openings", (15_000, 42_000)),
    (
        "Residential Building",
        "Remove and replace driveway and sidewalk, stamped concrete",
        (8_000, 24_000),
    ),
    ("Residential Building", "Spray foam insulation in attic and radiant barrier", (4_000, 11_000)),
    ("Residential Building", "New custom home 5,200 sq ft, 2 story", (900_000, 2_400_000)),
]
JUNK = [
    ("Accessory Structure", "Storage shed 10x12 prefab", (2_500, 6_000)),
    ("Residential Building", "Hail damage repair, replace damaged decking", (4_000, 9_000)),
    ("Mechanical", "Like for like AC change-out, same tonnage", (5_000, 9_000)),
    ("Electrical", "Electrical panel replacement 200 amp", (2_000, 4_000)),
    ("Plumbing", "Replace 50 gallon water heater", (1_500, 3_000)),
    ("Demolition", "Demolish existing detached garage", (3_000, 8_000)),
    ("Sign", "Install monument sign for shopping center", (6_000, 15_000)),
    ("Temporary", "Temporary construction trailer", (0, 1_000)),
]
COMMERCIAL = [
    ("Commercial Building", "Tenant finish-out suite 200 for medical office", (80_000, 300_000)),
    ("Commercial Roofing", "Re-roof retail plaza TPO membrane", (120_000, 400_000)),
    ("Commercial Mechanical", "Replace rooftop HVAC units at restaurant", (40_000, 120_000)),
    ("Commercial Pool", "Hotel pool resurfacing and new pool equipment", (60_000, 150_000)),
]


@dataclass(frozen=True)
class GeneratedProperty:
    """An appraisal-district record, in the column names of docs/cad-csv-mapping examples."""

    account: str
    county: str
    situs: str
    city: str
    zip_code: str
    owner: str
    mailing: str
    mailing_city: str
    mailing_zip: str
    market_value: int
    homestead: bool
    year_built: int
    living_area: int


@dataclass(frozen=True)
class Sample:
    permits: list[RawPermit]
    properties: list[GeneratedProperty]


def generate(count: int = 500, *, seed: int = 7, as_of: date | None = None) -> Sample:
    as_of = as_of or datetime.now(UTC).date()
    rng = random.Random(seed)
    scraped_at = datetime.combine(as_of, time(6, 0), tzinfo=UTC)
    permits: list[RawPermit] = []
    properties: list[GeneratedProperty] = []
    for i in range(count):
        city, county, zips, streets = rng.choice(CITIES)
        zip_code = rng.choice(zips)
        address = f"{rng.randint(100, 9999)} {rng.choice(streets)}"
        owner = f"{rng.choice(FIRST)} {rng.choice(LAST)}".upper()
        roll = rng.random()
        kind = (
            SELLABLE
            if roll < 0.70
            else JUNK
            if roll < 0.82
            else COMMERCIAL
            if roll < 0.90
            else None
        )
        permit_type, description, (low, high) = rng.choice(kind or SELLABLE)
        applicant = owner.title() if rng.random() < 0.45 else rng.choice(CONTRACTORS)
        if kind is None:  # production builders file spec homes by the dozen
            permit_type, description = (
                "Residential Building",
                "New single family residence, plan 2450 elevation B",
            )
            low, high = 250_000, 420_000
            applicant = rng.choice(PRODUCTION_BUILDERS)
        age = (
            rng.choice([2, 5, 9, 14, 21, 30, 45, 60])
            if rng.random() < 0.9
            else rng.randint(120, 400)
        )
        issued: date | None = as_of - timedelta(days=age)
        if rng.random() < 0.05:
            issued = None  # some portals omit the issue date
        has_address = rng.random() > 0.02
        in_cad = has_address and rng.random() < 0.8
        permits.append(
            RawPermit(
                jurisdiction=f"{city.lower().replace(' ', '_')}_tx",
                permit_number=f"{as_of.year % 100:02d}-{i:05d}",
                city=city,
                state="TX",
                zip_code=zip_code,
                county=county,
                property_address=address if has_address else None,
                permit_type=permit_type,
                work_description=description,
                valuation=float(rng.randrange(low, high + 1, 50)) if rng.random() < 0.85 else None,
                applicant_name=applicant,
                contractor_name=applicant if applicant not in (owner.title(),) else None,
                owner_name=owner if not in_cad and rng.random() < 0.3 else None,
                applied_date=issued - timedelta(days=rng.randint(3, 20)) if issued else None,
                issued_date=issued,
                status="Issued",
                source_url=f"https://permits.example/{city.lower().replace(' ', '-')}/{i}",
                scraped_at=scraped_at,
            )
        )
        if in_cad:
            absentee = rng.random() < 0.2
            properties.append(
                GeneratedProperty(
                    account=f"{county[:2].upper()}{100000 + i}",
                    county=county,
                    situs=address.upper(),
                    city=city.upper(),
                    zip_code=zip_code,
                    owner=owner,
                    mailing=f"PO BOX {rng.randint(100, 9999)}" if absentee else address.upper(),
                    mailing_city="HOUSTON" if absentee else city.upper(),
                    mailing_zip="77002" if absentee else zip_code,
                    market_value=_market_value(rng, city),
                    homestead=not absentee,
                    year_built=rng.randint(1962, 2022),
                    living_area=rng.randint(1400, 6800),
                )
            )
    return Sample(permits, properties)


def _market_value(rng: random.Random, city: str) -> int:
    median = {
        "Southlake": 1_250_000,
        "Dallas": 900_000,
        "Plano": 620_000,
        "Frisco": 680_000,
        "Fort Worth": 420_000,
        "Denton": 340_000,
    }[city]
    return int(rng.lognormvariate(0, 0.35) * median) // 1000 * 1000
