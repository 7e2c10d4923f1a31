"""The buyer's disputes and account pages: the same functions as ``/v1/leads/{id}/dispute``,
``/v1/disputes``, ``/v1/account`` and ``/v1/account/statement.csv``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.exporter.account_api import parse_month, statement_csv
from services.exporter.cursor import MAX_BIGINT
from services.exporter.dispute_rules import DisputeReason
from services.exporter.disputes import DisputeConflict, list_disputes, open_dispute
from services.exporter.ledger import account_summary, statement_entries
from services.exporter.portal.web import (
    BuyerPage,
    app_context,
    checked_form,
    now,
    redirect,
    render,
    secured,
)
from services.exporter.sales import LeadNotFound

router = APIRouter(prefix="/portal", include_in_schema=False)

REASONS = {
    DisputeReason.WRONG_CONTACT: "Wrong contact details",
    DisputeReason.DUPLICATE: "Duplicate of a lead I already bought",
    DisputeReason.STALE: "Stale: the work was already done or hired",
    DisputeReason.NOT_A_PROJECT: "Not a real project",
    DisputeReason.OTHER: "Other",
}
MAX_DETAIL = 2_000


@router.get("/disputes")
def disputes_page(
    request: Request,
    page: BuyerPage,
    lead_id: Annotated[int | None, Query(ge=1)] = None,
    opened: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return _disputes(request, page, lead_id=lead_id, opened=opened)


@router.post("/disputes")
async def open_dispute_page(request: Request, page: BuyerPage) -> Response:
    form = await checked_form(request, page.session)
    lead_text = form.get("lead_id", "").strip()
    if not lead_text.isascii() or not lead_text.isdigit() or not 1 <= int(lead_text) <= MAX_BIGINT:
        return _disputes(request, page, error="Enter the id of a lead you bought.", status=422)
    lead_id = int(lead_text)
    try:
        reason = DisputeReason(form.get("reason", ""))
    except ValueError:
        return _disputes(request, page, lead_id=lead_id, error="Choose a reason.", status=422)
    detail = form.get("detail", "").strip() or None
    if detail is not None and (len(detail) > MAX_DETAIL or "\x00" in detail):
        error = f"The details can be at most {MAX_DETAIL} characters."
        return _disputes(request, page, lead_id=lead_id, error=error, status=422)
    context = app_context(request)
    try:
        dispute = open_dispute(
            context.engine,
            page.buyer,
            lead_id,
            reason,
            detail,
            window_days=context.settings.dispute_window_days,
            now=now(),
            max_buyers_per_lead=context.settings.max_buyers_per_lead,
        )
    except LeadNotFound:
        error = f"Lead {lead_id} does not exist, or is not one of yours."
        return _disputes(request, page, lead_id=lead_id, error=error, status=404)
    except DisputeConflict as exc:
        return _disputes(request, page, lead_id=lead_id, error=f"{exc}.", status=409)
    return redirect(f"/portal/disputes?opened={dispute.id}")


@router.get("/account")
def account_page(
    request: Request,
    page: BuyerPage,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    month_start = parse_month(month) if month else now().date().replace(day=1)
    with app_context(request).engine.connect() as conn:
        summary = account_summary(conn, page.buyer.id)
        lines = statement_entries(conn, page.buyer.id, month_start)
    return render(
        request,
        "account.html",
        page.session,
        buyer=page.buyer,
        summary=summary,
        lines=lines,
        month=f"{month_start:%Y-%m}",
        months=_recent_months(now().date(), 12),
    )


@router.get("/account/statement.csv")
def statement_download(
    request: Request, page: BuyerPage, month: Annotated[str, Query(max_length=7)]
) -> Response:
    month_start = parse_month(month)
    with app_context(request).engine.connect() as conn:
        lines = statement_entries(conn, page.buyer.id, month_start)
    return secured(
        Response(
            statement_csv(lines),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="statement-{month_start:%Y-%m}.csv"'
            },
        )
    )


def _disputes(
    request: Request,
    page: BuyerPage,
    *,
    lead_id: int | None = None,
    opened: int | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = app_context(request)
    mine = list_disputes(context.engine, buyer_id=page.buyer.id)
    return render(
        request,
        "disputes.html",
        page.session,
        status_code=status,
        buyer=page.buyer,
        disputes=list(reversed(mine)),  # newest first for the buyer
        disputed={dispute.lead_id for dispute in mine},
        reasons=REASONS,
        lead_id=lead_id,
        opened=next((d for d in mine if d.id == opened), None),
        error=error,
        window_days=context.settings.dispute_window_days,
    )


def _recent_months(today: date, count: int) -> list[str]:
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months
