"""The buyer's subscriptions and webhooks: list them, save a search (optionally pushed to a
webhook), delete one. The same checks as ``/v1/subscriptions``: filters within the buyer's
entitlements, a webhook URL that is https to a public host (``check_webhook_url``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from services.common.messages import describe_problems
from services.exporter.portal.web import BuyerPage, app_context, checked_form, redirect, render
from services.notifier import deliveries
from services.subscriptions import store
from services.subscriptions.entitlements import NotEntitled, check_within
from services.subscriptions.filters import SubscriptionFilters
from services.subscriptions.webhook_url import UnsafeWebhookUrl, check_webhook_url

router = APIRouter(prefix="/portal", include_in_schema=False)

MAX_NAME = 200


@router.get("/subscriptions")
def subscriptions_page(request: Request, page: BuyerPage) -> Response:
    return _page(request, page)


@router.post("/subscriptions")
async def create_subscription(request: Request, page: BuyerPage) -> Response:
    form = await checked_form(request, page.session)
    fields = {key: value.strip() for key, value in form.items() if key != "csrf_token"}
    name = fields.get("name", "")
    if not name or len(name) > MAX_NAME or "\x00" in name:
        return _page(request, page, error=f"Give it a name of 1 to {MAX_NAME} characters.")
    try:
        filters = SubscriptionFilters(
            trade_groups=_listed(fields.get("trade_group")),
            tiers=[t for t in (await request.form()).getlist("tier") if isinstance(t, str)] or None,
            counties=_listed(fields.get("county"), separator=","),
            zip_codes=_listed(fields.get("zip_code")),
            min_score=fields.get("min_score") or None,
        )
        check_within(filters, page.buyer.entitlements)
        context = app_context(request)
        url = fields.get("webhook_url") or None
        if url is not None:
            url = check_webhook_url(url, allow_private=context.settings.webhook_allow_private)
    except ValidationError as exc:
        problems = describe_problems(
            exc.errors(include_url=False, include_input=False), whole="subscription"
        )
        return _page(request, page, error=problems)
    except (NotEntitled, UnsafeWebhookUrl) as exc:
        return _page(request, page, error=str(exc))
    with context.engine.begin() as conn:
        try:
            row, secret = store.create(
                conn, page.buyer.id, name=name, filters=filters.stored(), webhook_url=url
            )
        except store.TooManySubscriptions as exc:
            return _page(request, page, error=str(exc), status=409)
    # The signing secret is shown on this response only, as the API does.
    return _page(request, page, created=row, secret=secret if url else None, status=201)


@router.post("/subscriptions/{subscription_id}/delete")
async def delete_subscription(request: Request, page: BuyerPage, subscription_id: str) -> Response:
    await checked_form(request, page.session)
    with app_context(request).engine.begin() as conn:
        store.remove(conn, page.buyer.id, subscription_id[:40])
    return redirect("/portal/subscriptions")


@router.get("/subscriptions/{subscription_id}/deliveries")
def deliveries_page(request: Request, page: BuyerPage, subscription_id: str) -> Response:
    """The webhook's latest deliveries, newest first (as GET .../deliveries)."""
    with app_context(request).engine.connect() as conn:
        subscription = store.find(conn, page.buyer.id, subscription_id[:40])
        items = [] if subscription is None else deliveries.recent(conn, subscription.id, 50)
    if subscription is None:
        return _not_yours(request, page, subscription_id)
    return render(
        request,
        "deliveries.html",
        page.session,
        buyer=page.buyer,
        subscription=subscription,
        deliveries=items,
        queued=request.query_params.get("queued"),
    )


@router.post("/subscriptions/{subscription_id}/test")
async def send_test(request: Request, page: BuyerPage, subscription_id: str) -> Response:
    """Queue a signed ping to the webhook (as POST .../test)."""
    await checked_form(request, page.session)
    with app_context(request).engine.begin() as conn:
        subscription = store.find(conn, page.buyer.id, subscription_id[:40])
        if subscription is None or subscription.webhook_url is None:
            return _not_yours(request, page, subscription_id)
        delivery_id = deliveries.create_ping(conn, subscription.id)
    return redirect(f"/portal/subscriptions/{subscription.id}/deliveries?queued={delivery_id}")


def _not_yours(request: Request, page: BuyerPage, subscription_id: str) -> Response:
    return render(
        request,
        "message.html",
        page.session,
        status_code=404,
        buyer=page.buyer,
        title="Subscription not found",
        message=f"You have no webhook subscription {subscription_id}.",
        back="/portal/subscriptions",
        back_label="Back to subscriptions",
    )


def _listed(text: str | None, separator: str | None = None) -> list[str] | None:
    if not text:
        return None
    values = [value.strip() for value in text.split(separator) if value.strip()]
    return values or None


def _page(
    request: Request,
    page: BuyerPage,
    *,
    error: str | None = None,
    created: object = None,
    secret: str | None = None,
    status: int | None = None,
) -> Response:
    with app_context(request).engine.connect() as conn:
        rows = store.list_for(conn, page.buyer.id)
    return render(
        request,
        "subscriptions.html",
        page.session,
        status_code=status or (422 if error else 200),
        buyer=page.buyer,
        subscriptions=rows,
        trade_groups=sorted(page.buyer.entitlements.trade_groups),
        tiers=sorted(page.buyer.entitlements.tiers),
        error=error,
        created=created,
        secret=secret,
    )
