"""A buyer's disputes and account: open a dispute, list them, totals, a month's statement.

Buyer keys only (the admin key is a 403: operators decide disputes with
``leadstream disputes``). Money is in the ledger (ledger.py); docs/disputes.md says how it is
counted.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.exceptions import RequestValidationError

from services.exporter.account_models import AccountOut, DisputeIn, DisputeList, DisputeOut
from services.exporter.api_models import ErrorOut
from services.exporter.buyers import Buyer
from services.exporter.dependencies import Context, LeadId, ViewerDep
from services.exporter.disputes import list_disputes, open_dispute
from services.exporter.ledger import StatementLine, account_summary, statement_entries

router = APIRouter(prefix="/v1", tags=["disputes and account"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or invalid API key"},
    403: {"model": ErrorOut, "description": "Not a buyer's key"},
}
DISPUTE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": ErrorOut, "description": "No such lead, or not one of yours"},
    409: {
        "model": ErrorOut,
        "description": "Not bought by you, already disputed, or the dispute window is over",
    },
}
STATEMENT_COLUMNS = (
    "entry_id",
    "created_at",
    "kind",
    "lead_id",
    "purchase_id",
    "dispute_id",
    "amount",
    "note",
    "balance",
)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _buyer(viewer: ViewerDep) -> Buyer:
    if not isinstance(viewer, Buyer):
        raise HTTPException(403, "disputes and accounts belong to a buyer: use a buyer's key")
    return viewer


BuyerDep = Annotated[Buyer, Depends(_buyer)]


@router.post("/leads/{lead_id}/dispute", status_code=201, responses=DISPUTE_ERRORS)
def dispute_lead(context: Context, buyer: BuyerDep, lead_id: LeadId, body: DisputeIn) -> DisputeOut:
    """Dispute a lead you bought, within `LEADSTREAM_DISPUTE_WINDOW_DAYS` of the purchase.

    A duplicate of a lead of the same project you bought earlier, or a lead already stale when
    sold, is approved at once and its price credited; anything else waits for an operator.
    """
    dispute = open_dispute(
        context.engine,
        buyer,
        lead_id,
        body.reason,
        body.detail,
        window_days=context.settings.dispute_window_days,
        now=datetime.now(UTC),
        max_buyers_per_lead=context.settings.max_buyers_per_lead,
    )
    return DisputeOut.of(dispute)


@router.get("/disputes", responses=ERRORS)
def my_disputes(context: Context, buyer: BuyerDep) -> DisputeList:
    """Your disputes, oldest first."""
    items = list_disputes(context.engine, buyer_id=buyer.id)
    return DisputeList(items=[DisputeOut.of(dispute) for dispute in items])


@router.get("/account", responses=ERRORS)
def account(context: Context, buyer: BuyerDep) -> AccountOut:
    """Your totals from the ledger: net = spent − credited + adjustments."""
    with context.engine.connect() as conn:
        return AccountOut.of(account_summary(conn, buyer.id))


@router.get(
    "/account/statement.csv",
    response_class=Response,
    responses={
        **ERRORS,
        200: {"content": {"text/csv": {}}, "description": "The month's ledger entries"},
    },
)
def statement(
    context: Context,
    buyer: BuyerDep,
    month: Annotated[str, Query(max_length=7, description="YYYY-MM (UTC).", examples=["2026-12"])],
) -> Response:
    """Every ledger entry of yours created in that month (UTC), oldest first; `balance` is
    your net after the entry, earlier months included."""
    month_start = parse_month(month)
    with context.engine.connect() as conn:
        lines = statement_entries(conn, buyer.id, month_start)
    return Response(
        statement_csv(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="statement-{month}.csv"'},
    )


def parse_month(text: str) -> date:
    match = _MONTH.match(text)
    if match is None or not (1 <= int(match.group(2)) <= 12) or int(match.group(1)) < 1:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "month"),
                    "msg": f"month must be YYYY-MM, e.g. 2026-12; got {text!r}",
                    "input": text,
                }
            ]
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def statement_csv(lines: list[StatementLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(STATEMENT_COLUMNS)
    for line in lines:
        writer.writerow(
            [
                line.entry_id,
                line.created_at.astimezone(UTC).isoformat(),
                line.kind.value,
                _cell(line.lead_id),
                _cell(line.purchase_id),
                _cell(line.dispute_id),
                f"{line.amount:.2f}",
                _cell(line.note),
                f"{line.balance:.2f}",
            ]
        )
    return out.getvalue()


def _cell(value: object) -> str:
    return "" if value is None else str(value)
