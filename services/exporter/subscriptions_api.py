"""The buyer API's subscriptions: saved searches, pushed to a webhook when they have one.

A buyer's key only (the admin key is a 403): a buyer sees and changes its own subscriptions,
and another buyer's id is a 404 like one that does not exist. Filters stay within the buyer's
entitlements; ``webhook_url`` must be https to a public address. The signing secret is in the
response of ``POST /v1/subscriptions`` and of ``rotate-secret`` only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from services.exporter.api_models import ErrorOut
from services.exporter.buyers import Buyer
from services.exporter.dependencies import NO_NUL, AppContext, Context, ViewerDep
from services.exporter.queries import NEAR_IN_PREVIEWS
from services.subscriptions import store
from services.subscriptions.entitlements import NotEntitled, check_within
from services.subscriptions.filters import SubscriptionFilters
from services.subscriptions.webhook_url import UnsafeWebhookUrl, check_webhook_url

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or invalid API key"},
    403: {"model": ErrorOut, "description": "Not a buyer's key"},
    404: {"model": ErrorOut, "description": "No such subscription, or not one of yours"},
}

T = TypeVar("T")

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])

SubscriptionId = Annotated[str, Path(max_length=40, pattern=r"^sub_[0-9a-f]{24}$")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]


def _buyer(viewer: ViewerDep) -> Buyer:
    if not isinstance(viewer, Buyer):
        raise HTTPException(403, "subscriptions belong to a buyer: use a buyer's key")
    return viewer


BuyerDep = Annotated[Buyer, Depends(_buyer)]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    filters: SubscriptionFilters = Field(
        default_factory=SubscriptionFilters,
        description="Within your entitlements; a key left out means all you are entitled to.",
    )
    webhook_url: str | None = Field(
        default=None,
        description="https URL of a public host that receives the matching leads; "
        "none = a saved search.",
        examples=["https://crm.example.com/hooks/leadstream"],
    )


class SubscriptionPatch(BaseModel):
    """Only the keys sent change; ``filters`` is replaced as a whole; ``webhook_url: null``
    makes it a saved search; ``active: true`` re-enables a disabled subscription."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    filters: SubscriptionFilters | None = None
    webhook_url: str | None = None
    active: bool | None = None


class SubscriptionOut(BaseModel):
    id: str = Field(examples=["sub_4f1c2a9be07d3e5a61c08b2f"])
    name: str
    filters: SubscriptionFilters
    webhook_url: str | None
    active: bool = Field(description="false: paused by you, or disabled (see disabled_reason).")
    disabled_reason: str | None = Field(
        description="Why deliveries stopped (e.g. the endpoint failed for 24 h, or said 410)."
    )
    disabled_at: datetime | None
    previous_secret_until: datetime | None = Field(
        description="After a rotation, the previous secret also signs until then."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> SubscriptionOut:
        return cls(
            id=row.id,
            name=row.name,
            filters=SubscriptionFilters.model_validate(row.filters),
            webhook_url=row.webhook_url,
            active=row.active,
            disabled_reason=row.disabled_reason,
            disabled_at=row.disabled_at,
            previous_secret_until=row.previous_secret_until,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(
        description="Signing secret (Standard Webhooks): shown in this response only; store it.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


@router.post("", status_code=201, responses={**ERRORS, 409: {"model": ErrorOut}})
def create_subscription(
    context: Context, buyer: BuyerDep, body: SubscriptionIn
) -> SubscriptionWithSecret:
    """A new subscription; the response carries its signing secret, this once."""
    _within_entitlements(body.filters, buyer)
    url = _safe_url(body.webhook_url, context)
    with context.engine.begin() as conn:
        try:
            row, secret = store.create(
                conn, buyer.id, name=body.name, filters=body.filters.stored(), webhook_url=url
            )
        except store.TooManySubscriptions as exc:
            raise HTTPException(409, str(exc)) from None
    return SubscriptionWithSecret(**SubscriptionOut.from_row(row).model_dump(), secret=secret)


@router.get("", responses=ERRORS)
def list_subscriptions(context: Context, buyer: BuyerDep) -> list[SubscriptionOut]:
    """Your subscriptions, oldest first (never their secrets)."""
    with context.engine.connect() as conn:
        rows = store.list_for(conn, buyer.id)
    return [SubscriptionOut.from_row(row) for row in rows]


@router.get("/{subscription_id}", responses=ERRORS)
def read_subscription(
    context: Context, buyer: BuyerDep, subscription_id: SubscriptionId
) -> SubscriptionOut:
    with context.engine.connect() as conn:
        row = store.find(conn, buyer.id, subscription_id)
    return SubscriptionOut.from_row(_found(row, subscription_id))


@router.patch("/{subscription_id}", responses=ERRORS)
def update_subscription(
    context: Context, buyer: BuyerDep, subscription_id: SubscriptionId, body: SubscriptionPatch
) -> SubscriptionOut:
    """Change the keys sent, and only those."""
    sent = body.model_fields_set
    values: dict[str, Any] = {}
    for required in ("name", "filters", "active"):
        if required in sent and getattr(body, required) is None:
            _invalid(("body", required), f"{required} cannot be null", None)
    if body.name is not None:
        values["name"] = body.name
    if body.filters is not None:
        _within_entitlements(body.filters, buyer)
        values["filters"] = body.filters.stored()
    if "webhook_url" in sent:
        values["webhook_url"] = _safe_url(body.webhook_url, context)
    if body.active is not None:
        values["active"] = body.active
        if body.active:
            values["disabled_reason"] = values["disabled_at"] = None
    with context.engine.begin() as conn:
        row = (
            store.change(conn, buyer.id, subscription_id, values)
            if values
            else store.find(conn, buyer.id, subscription_id)
        )
    return SubscriptionOut.from_row(_found(row, subscription_id))


@router.delete("/{subscription_id}", status_code=204, responses=ERRORS)
def delete_subscription(
    context: Context, buyer: BuyerDep, subscription_id: SubscriptionId
) -> Response:
    with context.engine.begin() as conn:
        if not store.remove(conn, buyer.id, subscription_id):
            _found(None, subscription_id)
    return Response(status_code=204)


@router.post("/{subscription_id}/rotate-secret", responses=ERRORS)
def rotate_secret(
    context: Context, buyer: BuyerDep, subscription_id: SubscriptionId
) -> SubscriptionWithSecret:
    """A new signing secret, shown this once. Webhooks carry signatures by both the new and
    the previous secret for 24 h, so receivers can switch over without losing one."""
    with context.engine.begin() as conn:
        rotated = store.rotate_secret(conn, buyer.id, subscription_id, datetime.now(UTC))
    row, secret = _found(rotated, subscription_id)
    return SubscriptionWithSecret(**SubscriptionOut.from_row(row).model_dump(), secret=secret)


def _within_entitlements(filters: SubscriptionFilters, buyer: Buyer) -> None:
    if filters.near is not None and not buyer.sees_everything:
        _invalid(("body", "filters", "near"), NEAR_IN_PREVIEWS, filters.stored())
    try:
        check_within(filters, buyer.entitlements)
    except NotEntitled as exc:
        _invalid(("body", "filters"), str(exc), filters.stored())


def _safe_url(url: str | None, context: AppContext) -> str | None:
    if url is None:
        return None
    try:
        return check_webhook_url(url, allow_private=context.settings.webhook_allow_private)
    except UnsafeWebhookUrl as exc:
        _invalid(("body", "webhook_url"), str(exc), url)


def _invalid(loc: tuple[str, ...], message: str, value: object) -> NoReturn:
    """A 422 in the same shape as every other parameter error of the API."""
    raise RequestValidationError(
        [{"type": "value_error", "loc": loc, "msg": message, "input": value}]
    )


def _found(found: T | None, subscription_id: str) -> T:
    if found is None:
        raise HTTPException(404, f"subscription {subscription_id} not found")
    return found
