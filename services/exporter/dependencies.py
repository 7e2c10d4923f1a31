"""What every route of the buyer API takes from a request: who is asking, and what for.

Authentication (``X-API-Key``: a buyer's key or the operators' admin key), the lead filters
and the pagination cursor, as FastAPI dependencies; bad values are 401/403/422 here, before a
route runs.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, NoReturn

from fastapi import Depends, HTTPException, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader
from pydantic import AfterValidator, ValidationError
from sqlalchemy import Engine

from schemas.taxonomy import Category, Tier, TradeGroup
from services.common.messages import describe_problems
from services.common.times import as_utc
from services.exporter.buyers import Buyer, find_buyer
from services.exporter.cursor import MAX_BIGINT, Cursor, InvalidCursor, decode_cursor
from services.exporter.downloads import DownloadSlots
from services.exporter.queries import HiddenFilter, LeadFilters, LeadStatus, refuse_hidden_filters
from services.exporter.settings import ExporterSettings
from services.subscriptions.filters import MAX_RADIUS_MILES, Near

# PostgreSQL rejects NUL in text; refusing it here makes it a 422 instead of a driver error.
NO_NUL = r"^[^\x00]*$"

UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
API_KEY = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="A buyer's key (`leadstream buyers add`) or the operators' admin key.",
)


@dataclass(frozen=True)
class Operator:
    """Whoever holds the admin key: sees every lead and the stats, buys nothing."""


Viewer = Buyer | Operator


@dataclass(frozen=True)
class AppContext:
    engine: Engine
    settings: ExporterSettings
    downloads: DownloadSlots


class TierLetter(StrEnum):
    """The ``x`` of ``tier_x.csv``: only tiers that have files."""

    A = "a"
    B = "b"
    C = "c"


def _context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(_context)]


def authenticate(context: Context, key: Annotated[str | None, Security(API_KEY)]) -> Viewer:
    if not key:
        raise HTTPException(401, "missing API key: send it in the X-API-Key header")
    admin_key = context.settings.admin_key
    if admin_key is not None and hmac.compare_digest(
        key.encode(), admin_key.get_secret_value().encode()
    ):
        return Operator()
    with context.engine.connect() as conn:
        buyer = find_buyer(conn, key)
    if buyer is None:
        raise HTTPException(401, "invalid API key")
    return buyer


ViewerDep = Annotated[Viewer, Depends(authenticate)]


def require_buyer(viewer: ViewerDep) -> Buyer:
    if not isinstance(viewer, Buyer):
        raise HTTPException(403, "purchases and conversions are made with a buyer's key")
    return viewer


def require_operator(viewer: ViewerDep) -> Operator:
    if not isinstance(viewer, Operator):
        raise HTTPException(403, "statistics need the admin key")
    return viewer


def lead_filters(
    viewer: ViewerDep,
    trade_group: TradeGroup | None = None,
    category: Category | None = None,
    tier: Tier | None = None,
    min_score: Annotated[int | None, Query(ge=0, le=100)] = None,
    county: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    city: Annotated[str | None, Query(max_length=128, pattern=NO_NUL)] = None,
    scored_since: Annotated[
        UtcDatetime | None, Query(description="Inclusive; a time without zone is UTC.")
    ] = None,
    scored_until: Annotated[UtcDatetime | None, Query(description="Exclusive.")] = None,
    status: LeadStatus | None = None,
    zip_code: Annotated[
        list[str] | None,
        Query(
            max_length=200,
            description="5-digit ZIP of the property; repeat for any of several.",
            examples=["78704"],
        ),
    ] = None,
    near: Annotated[
        str | None,
        Query(
            max_length=100,
            description="`lat,lon,miles`: leads within that many miles (at most "
            f"{MAX_RADIUS_MILES:g}) of the point. A lead without coordinates never matches.",
            examples=["30.2672,-97.7431,10"],
        ),
    ] = None,
) -> LeadFilters:
    filters = LeadFilters(
        trade_group=trade_group,
        category=category,
        tier=tier,
        min_score=min_score,
        county=county,
        city=city,
        scored_since=scored_since,
        scored_until=scored_until,
        status=status,
        zip_codes=tuple(_zip_code(value) for value in zip_code or ()),
        near=None if near is None else _near(near),
    )
    try:
        refuse_hidden_filters(viewer if isinstance(viewer, Buyer) else None, filters)
    except HiddenFilter as exc:
        _bad_query("near", str(exc), near or "")
    return filters


def _zip_code(value: str) -> str:
    if len(value) != 5 or not value.isascii() or not value.isdigit():
        _bad_query("zip_code", f"zip_code must be 5 digits, got {value!r}", value)
    return value


def _near(value: str) -> Near:
    parts = value.split(",")
    try:
        if len(parts) != 3:
            raise ValueError("expected three numbers")
        lat, lon, miles = (float(part) for part in parts)
        if not all(math.isfinite(number) for number in (lat, lon, miles)):
            raise ValueError("every value must be a finite number")
        return Near(lat=lat, lon=lon, miles=miles)
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            reason = describe_problems(exc.errors(include_url=False))
        else:
            reason = str(exc)
        _bad_query(
            "near",
            f"near must be lat,lon,miles (latitude -90..90, longitude -180..180, "
            f"0 < miles <= {MAX_RADIUS_MILES:g}), e.g. 30.2672,-97.7431,10: {reason}",
            value,
        )


def _bad_query(name: str, message: str, value: str) -> NoReturn:
    """A 422 in FastAPI's own format for a query parameter."""
    raise RequestValidationError(
        [{"type": "value_error", "loc": ("query", name), "msg": message, "input": value}]
    )


FiltersDep = Annotated[LeadFilters, Depends(lead_filters)]
LeadId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]


def after_cursor(
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
    ] = None,
) -> Cursor | None:
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor)
    except InvalidCursor as exc:
        # The same shape as every other parameter error, so clients handle one 422 format.
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", "cursor"), "msg": str(exc), "input": cursor}]
        ) from exc
