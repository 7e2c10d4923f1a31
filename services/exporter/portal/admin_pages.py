"""The operators' pages under ``/admin/``: pipeline stats with a leads-per-day chart, the
disputes queue with approve/deny, and the buyers. Signed in with ``LEADSTREAM_ADMIN_KEY``.

Per-stage lag is not shown: it lives in each service's Prometheus metrics (consumer lag per
process), which the exporter does not scrape; Grafana/Prometheus is the place for it.
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import Connection, func, select

from services.exporter.buyers import list_buyers
from services.exporter.dispute_rules import DisputeStatus
from services.exporter.disputes import (
    DisputeConflict,
    DisputeNotFound,
    NoteRequired,
    decide_dispute,
    list_disputes,
)
from services.exporter.portal.chart import tier_chart_svg
from services.exporter.portal.market_pages import REASONS
from services.exporter.portal.web import (
    OperatorPage,
    app_context,
    checked_form,
    end_session,
    now,
    read_session,
    redirect,
    render,
    signin_page,
    start_session,
    state,
)
from services.exporter.queries import leads
from services.exporter.stats import run_stats

router = APIRouter(prefix="/admin", include_in_schema=False)

MAX_NOTE = 2_000


@router.get("/signin")
def signin_form(request: Request) -> Response:
    return signin_page(request, state(request).admin_cookie, "admin_signin.html")


@router.post("/signin")
async def signin(request: Request) -> Response:
    portal = state(request)
    cookie = portal.admin_cookie
    form = await checked_form(request, read_session(request, cookie))
    key = form.get("admin_key", "").strip()
    admin_key = app_context(request).settings.admin_key
    if admin_key is None or not hmac.compare_digest(
        key.encode(), admin_key.get_secret_value().encode()
    ):
        return signin_page(
            request,
            cookie,
            "admin_signin.html",
            error="That is not the admin key.",
            status_code=401,
        )
    session = portal.signer.new("operator", now(), key_fingerprint=portal.signer.fingerprint(key))
    return start_session(request, cookie, session, "/admin/")


@router.post("/signout")
async def signout(request: Request) -> Response:
    cookie = state(request).admin_cookie
    await checked_form(request, read_session(request, cookie))
    return end_session(cookie, "/admin/signin")


@router.get("/")
def stats_page(
    request: Request, page: OperatorPage, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> Response:
    today = now().date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=now().tzinfo)
    with app_context(request).engine.connect() as conn:
        numbers = run_stats(conn, since, None)
        per_day = leads_per_day(conn, since)
    day_list = [first_day + timedelta(days=n) for n in range(days)]
    return render(
        request,
        "admin_stats.html",
        page.session,
        admin=True,
        stats=numbers,
        days=days,
        since=first_day,
        chart=Markup(tier_chart_svg(day_list, per_day)),
        per_day=[(day, per_day.get(day, {})) for day in reversed(day_list)],
    )


def leads_per_day(conn: Connection, since: datetime) -> dict[date, dict[str, int]]:
    """Stored leads by UTC day of scoring and tier, from ``since`` on."""
    day = func.date(func.timezone("UTC", leads.c.scored_at))
    rows = conn.execute(
        select(day, leads.c.tier, func.count())
        .where(leads.c.scored_at >= since)
        .group_by(day, leads.c.tier)
    ).all()
    counts: dict[date, dict[str, int]] = defaultdict(dict)
    for scored_day, tier, count in rows:
        counts[scored_day][tier] = count
    return dict(counts)


@router.get("/disputes")
def disputes_queue(
    request: Request, page: OperatorPage, status: DisputeStatus | None = DisputeStatus.OPEN
) -> Response:
    return _queue(request, page, status)


@router.post("/disputes/{dispute_id}/decide")
async def decide(request: Request, page: OperatorPage, dispute_id: int) -> Response:
    form = await checked_form(request, page.session)
    decision = form.get("decision")
    note = form.get("note", "").strip() or None
    if decision not in ("approve", "deny"):
        return _queue(request, page, DisputeStatus.OPEN, error="Choose approve or deny.")
    if note is not None and len(note) > MAX_NOTE:
        return _queue(request, page, DisputeStatus.OPEN, error="The note is too long.")
    try:
        decided = decide_dispute(
            app_context(request).engine,
            dispute_id,
            approve=decision == "approve",
            note=note,
            now=now(),
        )
    except (DisputeNotFound, NoteRequired, DisputeConflict) as exc:
        return _queue(request, page, DisputeStatus.OPEN, error=f"Dispute {dispute_id}: {exc}.")
    return redirect(f"/admin/disputes?decided={decided.id}")


@router.get("/buyers")
def buyers_page(request: Request, page: OperatorPage) -> Response:
    buyers = list_buyers(app_context(request).engine)
    return render(request, "admin_buyers.html", page.session, admin=True, buyers=buyers)


def _queue(
    request: Request, page: OperatorPage, status: DisputeStatus | None, error: str | None = None
) -> Response:
    decided = request.query_params.get("decided")
    return render(
        request,
        "admin_disputes.html",
        page.session,
        status_code=422 if error else 200,
        admin=True,
        disputes=list_disputes(app_context(request).engine, status=status),
        status=status,
        statuses=[s.value for s in DisputeStatus],
        reasons=REASONS,
        error=error,
        decided=decided,
    )
