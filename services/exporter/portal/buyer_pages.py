"""The buyer portal's pages: sign-in, leads for sale, a lead, buying one, my leads and their CSV.

Each page calls what the JSON API calls (``fetch_page``, ``fetch_lead``, ``purchase_lead``,
``csv_query``); a sale goes through ``purchase_lead`` with ``max_price`` = the price the
confirmation page showed, so a price raised in between is refused, never charged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import literal_column
from starlette.responses import Response

from services.exporter.api_models import LeadOut
from services.exporter.buyers import find_buyer, hash_key
from services.exporter.cursor import MAX_BIGINT, Cursor, encode_cursor
from services.exporter.dependencies import after_cursor
from services.exporter.downloads import BoundedStreamingResponse
from services.exporter.portal.filters import FilterForm, FilterQuery
from services.exporter.portal.views import LeadView, lead_view
from services.exporter.portal.web import (
    BuyerPage,
    app_context,
    checked_form,
    end_session,
    now,
    read_session,
    redirect,
    render,
    secured,
    signin_page,
    start_session,
    state,
)
from services.exporter.previews import offered_csv_record
from services.exporter.queries import (
    LeadFilters,
    bought_by,
    csv_query,
    fetch_lead,
    fetch_page,
    rows_in_pages,
    visible_leads,
)
from services.exporter.records import csv_text
from services.exporter.sales import LeadNotFound, SaleConflict, purchase_lead

router = APIRouter(prefix="/portal", include_in_schema=False)

PAGE_SIZE = 25
MY_LEADS_SHOWN = 200
CSV_BATCH = 2_000
MAX_PRICE = Decimal("99999999.99")  # lead_purchases.price is NUMERIC(10, 2)


@router.get("/")
def home(request: Request) -> Response:
    session = read_session(request, state(request).buyer_cookie)
    return redirect("/portal/leads" if session and session.kind == "buyer" else "/portal/signin")


@router.get("/signin")
def signin_form(request: Request) -> Response:
    return signin_page(request, state(request).buyer_cookie, "signin.html")


@router.post("/signin")
async def signin(request: Request) -> Response:
    portal = state(request)
    cookie = portal.buyer_cookie
    form = await checked_form(request, read_session(request, cookie))
    key = form.get("api_key", "").strip()
    context = app_context(request)
    with context.engine.connect() as conn:
        buyer = find_buyer(conn, key) if key else None
    if buyer is None:
        return signin_page(
            request, cookie, "signin.html", error="That API key is not valid.", status_code=401
        )
    session = portal.signer.new(
        "buyer", now(), buyer_id=buyer.id, key_fingerprint=portal.signer.fingerprint(hash_key(key))
    )
    return start_session(request, cookie, session, "/portal/leads")


@router.post("/signout")
async def signout(request: Request) -> Response:
    cookie = state(request).buyer_cookie
    await checked_form(request, read_session(request, cookie))
    return end_session(cookie, "/portal/signin")


@router.get("/leads")
def leads_for_sale(
    request: Request,
    page: BuyerPage,
    form: FilterQuery,
    after: Annotated[Cursor | None, Depends(after_cursor)],
) -> Response:
    context = app_context(request)
    with context.engine.connect() as conn:
        rows, next_page = fetch_page(
            conn,
            page.buyer,
            form.lead_filters(page.buyer),
            after=after,
            limit=PAGE_SIZE,
            max_buyers_per_lead=context.settings.max_buyers_per_lead,
        )
    today = now().date()
    next_url = None
    if next_page is not None:
        next_url = "/portal/leads?" + form.query_string(cursor=encode_cursor(next_page))
    return render(
        request,
        "leads.html",
        page.session,
        buyer=page.buyer,
        form=form,
        choices=FilterForm.choices(),
        leads=[lead_view(LeadOut.from_row(row, today)) for row in rows],
        next_url=next_url,
        first_page=after is None,
    )


LeadIdQuery = Annotated[int, Query(ge=1, le=MAX_BIGINT)]


@router.get("/leads/{lead_id}")
def lead_page(request: Request, page: BuyerPage, lead_id: int, bought: bool = False) -> Response:
    lead = _visible_lead(request, page, lead_id)
    if lead is None:
        return _not_found(request, page, lead_id)
    return render(request, "lead.html", page.session, buyer=page.buyer, lead=lead, bought=bought)


@router.get("/leads/{lead_id}/buy")
def confirm_purchase(request: Request, page: BuyerPage, lead_id: int) -> Response:
    lead = _visible_lead(request, page, lead_id)
    if lead is None:
        return _not_found(request, page, lead_id)
    if lead.purchased:
        return redirect(f"/portal/leads/{lead_id}")
    return render(request, "buy.html", page.session, buyer=page.buyer, lead=lead, error=None)


@router.post("/leads/{lead_id}/buy")
async def buy(request: Request, page: BuyerPage, lead_id: int) -> Response:
    form = await checked_form(request, page.session)
    lead = _visible_lead(request, page, lead_id)
    if lead is None:
        return _not_found(request, page, lead_id)
    max_price = _price(form.get("max_price", ""))
    if max_price is None:
        return _buy_refused(request, page, lead, "Enter a price in dollars, e.g. 45 or 45.50.")
    context = app_context(request)
    try:
        purchase_lead(
            context.engine,
            page.buyer,
            lead_id,
            max_price,
            max_buyers_per_lead=context.settings.max_buyers_per_lead,
            now=now(),
        )
    except LeadNotFound:
        return _not_found(request, page, lead_id)
    except SaleConflict as exc:
        return _buy_refused(request, page, lead, f"Not bought: {exc}.")
    return redirect(f"/portal/leads/{lead_id}?bought=1")


@router.get("/mine")
def my_leads(request: Request, page: BuyerPage) -> Response:
    context = app_context(request)
    stmt = (
        visible_leads(page.buyer, context.settings.max_buyers_per_lead)
        .where(bought_by(page.buyer))
        .order_by(literal_column("purchased_at").desc())
        .limit(MY_LEADS_SHOWN + 1)
    )
    with context.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    today = now().date()
    return render(
        request,
        "mine.html",
        page.session,
        buyer=page.buyer,
        leads=[lead_view(LeadOut.from_row(row, today)) for row in rows[:MY_LEADS_SHOWN]],
        more=len(rows) > MY_LEADS_SHOWN,
    )


@router.get("/mine.csv")
def my_leads_csv(request: Request, page: BuyerPage) -> Response:
    """Every lead the buyer bought, in full, in the tier files' columns (like /v1/leads.csv)."""
    context = app_context(request)
    stmt = csv_query(page.buyer, LeadFilters(), context.settings.max_buyers_per_lead).where(
        bought_by(page.buyer)
    )
    slots, key = context.downloads, ("buyer", page.buyer.id)
    if not slots.try_acquire(key):
        return render(
            request,
            "message.html",
            page.session,
            status_code=429,
            buyer=page.buyer,
            title="Download busy",
            message=f"At most {slots.per_key} downloads at a time: try again in a moment.",
        )
    today = now().date()

    def records() -> Iterator[list[str]]:
        for row in rows_in_pages(context.engine, stmt, CSV_BATCH):
            yield offered_csv_record(row, today)

    try:
        response: StreamingResponse = BoundedStreamingResponse(
            csv_text(records(), CSV_BATCH),
            deadline_s=context.settings.csv_download_deadline_s,
            on_close=lambda: slots.release(key),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="my-leads.csv"'},
        )
    except BaseException:
        slots.release(key)
        raise
    return secured(response)


def _visible_lead(request: Request, page: Any, lead_id: int) -> LeadView | None:
    if not 1 <= lead_id <= MAX_BIGINT:
        return None
    context = app_context(request)
    with context.engine.connect() as conn:
        row = fetch_lead(conn, page.buyer, lead_id, context.settings.max_buyers_per_lead)
    return None if row is None else lead_view(LeadOut.from_row(row, _today()))


def _today() -> date:
    return now().date()


def _price(text: str) -> Decimal | None:
    """A price in dollars with at most two decimals, or None."""
    try:
        price = Decimal(text.strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        return None
    if (
        not price.is_finite()
        or price < 0
        or price > MAX_PRICE
        or price != price.quantize(Decimal("0.01"))
    ):
        return None
    return price.quantize(Decimal("0.01"))


def _buy_refused(request: Request, page: Any, lead: LeadView, error: str) -> Response:
    return render(
        request, "buy.html", page.session, status_code=409, buyer=page.buyer, lead=lead, error=error
    )


def _not_found(request: Request, page: Any, lead_id: int) -> Response:
    return render(
        request,
        "message.html",
        page.session,
        status_code=404,
        buyer=page.buyer,
        title="Lead not found",
        message=f"Lead {lead_id} does not exist, or is not one you may see.",
    )
