"""Closed vocabularies that buyers and downstream code rely on."""

from __future__ import annotations

from enum import StrEnum


class TradeGroup(StrEnum):
    LUXURY_OUTDOOR = "luxury_outdoor"
    HOME_EXTERIOR = "home_exterior"
    HOME_SYSTEMS = "home_systems"
    STRUCTURAL = "structural"
    COMMERCIAL = "commercial"
    UNSELLABLE = "unsellable"
    OTHER = "other"


class Category(StrEnum):
    POOL = "pool"
    OUTDOOR_LIVING = "outdoor_living"
    FENCE = "fence"
    ROOF = "roof"
    SIDING = "siding"
    WINDOWS = "windows"
    GARAGE_DOOR = "garage_door"
    CONCRETE = "concrete"
    PAINTING = "painting"
    HVAC = "hvac"
    PLUMBING = "plumbing"
    ELECTRICAL = "electrical"
    SOLAR = "solar"
    INSULATION = "insulation"
    FOUNDATION = "foundation"
    ADDITION = "addition"
    NEW_CONSTRUCTION = "new_construction"
    REMODEL = "remodel"
    COMMERCIAL_POOL = "commercial_pool"
    COMMERCIAL_ROOF = "commercial_roof"
    COMMERCIAL_HVAC = "commercial_hvac"
    COMMERCIAL_PLUMBING = "commercial_plumbing"
    COMMERCIAL_ELECTRICAL = "commercial_electrical"
    TENANT_IMPROVEMENT = "tenant_improvement"
    DEMOLITION = "demolition"
    TEMPORARY = "temporary"
    SIGNAGE = "signage"
    OTHER = "other"


class Tier(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    RETRY = "RETRY"


class ContactPriority(StrEnum):
    CALL = "call"
    EMAIL = "email"
    SKIP = "skip"


class MatchKind(StrEnum):
    """How the enricher found the appraisal-district record, strongest first."""

    PARCEL = "parcel"
    ADDRESS_UNIT = "address_unit"
    ADDRESS = "address"
    NONE = "none"


class ScoringMethod(StrEnum):
    LLM = "llm"
    RULES = "rules"
    PENDING_RETRY = "pending_retry"
