"""The buyer API: leads, CSV downloads, tier files, purchases, conversions and run statistics.

Every route needs a key in ``X-API-Key``: a buyer's (sees and buys within their entitlements)
or the operators' ``LEADSTREAM_ADMIN_KEY`` (sees everything, reads stats, buys nothing).
A marketplace buyer sees a preview (``"revealed": false``, no contact fields) of each lead it
has not bought, on every route; leads are priced by the operators' price book.
Errors are ``{"detail": "<message>"}``: 401 no or unknown key, 403 wrong kind of key, 404 no
such lead *or* none of yours (indistinguishable on purpose), 409 conflicts, 422 bad input.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from starlette.background import BackgroundTask

from schemas.taxonomy import Category, TradeGroup
from services.common.db.engine import make_engine
from services.exporter.account_api import router as account_router
from services.exporter.api_models import (
    ConversionOut,
    ErrorOut,
    LeadOut,
    LeadPage,
    PurchaseIn,
    PurchaseOut,
    StatsOut,
)
from services.exporter.buyers import Buyer
from services.exporter.cursor import Cursor, encode_cursor
from services.exporter.deliveries_api import router as deliveries_router
from services.exporter.dependencies import (
    AppContext,
    Context,
    FiltersDep,
    LeadId,
    Operator,
    TierLetter,
    UtcDatetime,
    Viewer,
    ViewerDep,
    after_cursor,
    require_buyer,
    require_operator,
)
from services.exporter.downloads import BoundedStreamingResponse, DownloadSlots
from services.exporter.portal import install as install_portal
from services.exporter.previews import offered_csv_record
from services.exporter.queries import (
    csv_query,
    fetch_lead,
    fetch_page,
    rows_in_pages,
)
from services.exporter.records import csv_text, tier_file
from services.exporter.sales import (
    LeadNotFound,
    SaleConflict,
    purchase_lead,
    record_conversion,
)
from services.exporter.settings import ExporterSettings
from services.exporter.stats import run_stats
from services.exporter.subscriptions_api import router as subscriptions_router
from services.exporter.tier_files import (
    ServedOffer,
    open_published,
    published_lead_ids,
    published_records,
    servable_ids,
)

CSV_BATCH = 2_000  # rows per page of a CSV download, and per chunk sent
DOWNLOAD_RETRY_AFTER_S = 10
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
BUSY = "Too many of your CSV downloads at the same time; see Retry-After"
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE when statement_timeout cancels a query

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or invalid API key"},
    404: {"model": ErrorOut, "description": "No such lead, or not one of yours"},
}
SALE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"model": ErrorOut, "description": "Not a buyer's key"},
    409: {
        "model": ErrorOut,
        "description": "Sold out, already bought, not for sale, or priced above max_price",
    },
}
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV, same columns as the tier files"}
}

router = APIRouter(prefix="/v1")


@router.get("/leads", responses=ERRORS)
def list_leads(
    context: Context,
    viewer: ViewerDep,
    filters: FiltersDep,
    after: Annotated[Cursor | None, Depends(after_cursor)],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> LeadPage:
    """Leads you may see, best score first, then most recently scored."""
    with context.engine.connect() as conn:
        rows, next_page = fetch_page(
            conn,
            _buyer_or_all(viewer),
            filters,
            after=after,
            limit=limit,
            max_buyers_per_lead=context.settings.max_buyers_per_lead,
        )
    today = _today()
    return LeadPage(
        items=[LeadOut.from_row(row, today) for row in rows],
        next_cursor=None if next_page is None else encode_cursor(next_page),
    )


@router.get(
    "/leads.csv",
    response_class=StreamingResponse,
    responses={**ERRORS, **CSV_RESPONSE, 429: {"model": ErrorOut, "description": BUSY}},
)
def download_leads(context: Context, viewer: ViewerDep, filters: FiltersDep) -> StreamingResponse:
    """Every lead `GET /v1/leads` would page through, streamed as one CSV.

    At most `LEADSTREAM_CSV_DOWNLOADS_PER_KEY` downloads per key at a time (429 beyond, with
    `Retry-After`); a download not done within `LEADSTREAM_CSV_DOWNLOAD_DEADLINE_S` is cut off.
    """
    stmt = csv_query(_buyer_or_all(viewer), filters, context.settings.max_buyers_per_lead)
    today = _today()
    slots, key = context.downloads, _download_key(viewer)
    if not slots.try_acquire(key):
        raise HTTPException(
            429,
            f"at most {slots.per_key} CSV downloads at a time per API key: "
            "retry when one of yours has finished",
            headers={"Retry-After": str(DOWNLOAD_RETRY_AFTER_S)},
        )

    def records() -> Iterator[list[str]]:
        # Page by page, each in its own short transaction: nothing is held in the database
        # while the client reads.
        for row in rows_in_pages(context.engine, stmt, CSV_BATCH):
            yield offered_csv_record(row, today)

    try:
        return BoundedStreamingResponse(
            csv_text(records(), CSV_BATCH),
            deadline_s=context.settings.csv_download_deadline_s,
            on_close=lambda: slots.release(key),
            media_type=CSV_MEDIA_TYPE,
            headers=_attachment("leads.csv"),
        )
    except BaseException:
        slots.release(key)  # once built, the response gives the slot back however it ends
        raise


@router.get("/leads/{lead_id}", responses=ERRORS)
def read_lead(context: Context, viewer: ViewerDep, lead_id: LeadId) -> LeadOut:
    with context.engine.connect() as conn:
        row = fetch_lead(conn, _buyer_or_all(viewer), lead_id, context.settings.max_buyers_per_lead)
    if row is None:
        raise LeadNotFound(f"lead {lead_id} not found")
    return LeadOut.from_row(row, _today())


@router.post("/leads/{lead_id}/purchase", status_code=201, responses=SALE_ERRORS)
def purchase(
    context: Context,
    buyer: Annotated[Buyer, Depends(require_buyer)],
    lead_id: LeadId,
    body: PurchaseIn,
) -> PurchaseOut:
    """Buy a lead at its book price, if that is at most `max_price` (409 otherwise); a lead
    not in the price book sells at `max_price`. The response says what you were charged.
    A lead is sold to at most `LEADSTREAM_MAX_BUYERS_PER_LEAD` buyers."""
    bought = purchase_lead(
        context.engine,
        buyer,
        lead_id,
        body.limit,
        max_buyers_per_lead=context.settings.max_buyers_per_lead,
        now=datetime.now(UTC),
    )
    return PurchaseOut(
        lead_id=bought.lead_id, price=float(bought.price), purchased_at=bought.purchased_at
    )


@router.post("/leads/{lead_id}/conversion", responses=SALE_ERRORS)
def conversion(
    context: Context, buyer: Annotated[Buyer, Depends(require_buyer)], lead_id: LeadId
) -> ConversionOut:
    """Record that a lead you bought became paid work (repeating it changes nothing)."""
    converted_at = record_conversion(
        context.engine,
        buyer,
        lead_id,
        max_buyers_per_lead=context.settings.max_buyers_per_lead,
        now=datetime.now(UTC),
    )
    return ConversionOut(lead_id=lead_id, converted_at=converted_at)


@router.get(
    "/exports/{trade_group}/{category}/tier_{tier}.csv",
    response_class=StreamingResponse,
    responses={**ERRORS, **CSV_RESPONSE},
)
def download_tier_file(
    context: Context,
    viewer: ViewerDep,
    trade_group: TradeGroup,
    category: Category,
    tier: TierLetter,
) -> StreamingResponse:
    """The latest tier file, without the leads you may no longer be served from it.

    Each lead of the file is checked now, by id: it must still be of this trade group,
    category and tier, within your entitlements (county included), and for sale or yours.
    """
    export_dir = context.settings.export_dir
    buyer = _buyer_or_all(viewer)
    tier_name = tier.upper()
    if export_dir is None or (
        buyer is not None and not buyer.entitlements.allows_file(trade_group, tier_name)
    ):
        raise HTTPException(404, "file not found")
    path = export_dir / tier_file(trade_group, category, tier_name)
    handle = open_published(path)
    if handle is None:
        return _csv_response(csv_text(()), path.name)
    servable: dict[int, ServedOffer] | None = None
    try:
        if buyer is not None:
            lead_ids = published_lead_ids(handle)
            with context.engine.connect() as conn:
                servable = servable_ids(
                    conn,
                    buyer,
                    trade_group,
                    category,
                    tier_name,
                    lead_ids,
                    context.settings.max_buyers_per_lead,
                )
    except BaseException:
        handle.close()
        raise
    return _csv_response(
        csv_text(published_records(handle, servable)),
        path.name,
        background=BackgroundTask(handle.close),
    )


@router.get("/stats", responses={**ERRORS, 403: {"model": ErrorOut}})
def stats(
    context: Context,
    _: Annotated[Operator, Depends(require_operator)],
    since: Annotated[UtcDatetime | None, Query(description="Inclusive; no zone = UTC.")] = None,
    until: Annotated[UtcDatetime | None, Query(description="Exclusive.")] = None,
) -> StatsOut:
    """Operators: what came in and where it ended, over a time window."""
    with context.engine.connect() as conn:
        numbers = run_stats(conn, since, until)
    return StatsOut(since=since, until=until, **vars(numbers))


def create_app(settings: ExporterSettings) -> FastAPI:
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    if engine.dialect.name == "postgresql":
        configure_sessions(
            engine,
            statement_timeout_s=settings.api_statement_timeout_s,
            idle_in_transaction_timeout_s=settings.db_idle_in_transaction_timeout_s,
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="leadstream buyer API",
        version="1",
        description=__doc__,
        lifespan=lifespan,
    )
    app.state.context = AppContext(engine, settings, DownloadSlots(settings.csv_downloads_per_key))
    app.include_router(router)
    app.include_router(subscriptions_router)
    app.include_router(deliveries_router)
    app.include_router(account_router)
    app.add_exception_handler(LeadNotFound, _error(404))
    app.add_exception_handler(SaleConflict, _error(409))
    app.add_exception_handler(OperationalError, _database_unavailable)
    install_portal(app, settings)  # /portal/ and /admin/: HTML pages over the same functions

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        """Ready when the database answers: without it no request can be served."""
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError:
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    return app


def _error(status: int) -> Any:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handle


def configure_sessions(
    engine: Engine, *, statement_timeout_s: float | None, idle_in_transaction_timeout_s: float
) -> None:
    """Settings of every exporter connection to PostgreSQL.

    A statement timeout (the API's; None for the tier-file export, whose one long cursor
    reads every lead), so that no request holds the database whatever filters it combines;
    ``idle_in_transaction_session_timeout``, so that no session left inside a transaction
    (a bug, a stalled consumer) holds locks and back VACUUM for long: PostgreSQL ends it;
    and no JIT: compiling a query costs ~30 ms, more than a page takes to read.
    """
    settings = [
        f"SET idle_in_transaction_session_timeout = {int(idle_in_transaction_timeout_s * 1000)}",
        "SET jit = off",
    ]
    if statement_timeout_s is not None:
        settings.append(f"SET statement_timeout = {int(statement_timeout_s * 1000)}")

    def on_connect(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        for statement in settings:
            cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()  # a SET rolled back with its transaction would not stick

    event.listen(engine, "connect", on_connect)


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    if getattr(getattr(exc, "orig", None), "pgcode", None) == QUERY_CANCELED:
        detail = "the query took too long: narrow the filters"
    else:
        detail = "database unavailable, retry later"
    return JSONResponse({"detail": detail}, status_code=503)


def _buyer_or_all(viewer: Viewer) -> Buyer | None:
    """Queries take a buyer, or None for an operator's unrestricted view."""
    return viewer if isinstance(viewer, Buyer) else None


def _today() -> date:
    return datetime.now(UTC).date()


def _csv_response(
    chunks: Iterator[str], filename: str, background: BackgroundTask | None = None
) -> StreamingResponse:
    return StreamingResponse(
        chunks, media_type=CSV_MEDIA_TYPE, headers=_attachment(filename), background=background
    )


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def _download_key(viewer: Viewer) -> tuple[str, int]:
    """Whose download it is, for the per-key limit: a buyer, or the operators' one key."""
    return ("buyer", viewer.id) if isinstance(viewer, Buyer) else ("operator", 0)
