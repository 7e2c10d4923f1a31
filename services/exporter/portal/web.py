"""What the portal's and the admin pages' routes share: templates, sessions, sign-in checks.

Pages call the same Python functions as the JSON API (never HTTP to the app itself); this
module only turns a cookie into a buyer or the operator and renders HTML.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine, select
from starlette.responses import RedirectResponse, Response

from services.common.db.tables.marketplace import BuyerRow
from services.exporter.buyers import Buyer, BuyerPlan, Entitlements
from services.exporter.dependencies import AppContext
from services.exporter.portal.csrf import FIELD, check_csrf
from services.exporter.portal.session import (
    Session,
    SessionCookie,
    SessionSigner,
    clear_cookie,
    set_cookie,
)
from services.exporter.portal.views import money
from services.exporter.settings import ExporterSettings

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.filters["money"] = money

# No script, style or frame from anywhere else; forms post only back to us.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class PortalState:
    signer: SessionSigner
    buyer_cookie: SessionCookie
    admin_cookie: SessionCookie


def portal_state(settings: ExporterSettings) -> PortalState:
    """The signer and cookies; a random secret per process when none is configured."""
    secret = (
        settings.portal_secret.get_secret_value().encode()
        if settings.portal_secret is not None
        else secrets.token_bytes(32)
    )
    secure = settings.portal_secure_cookies
    return PortalState(
        signer=SessionSigner(secret, timedelta(hours=settings.portal_session_hours)),
        buyer_cookie=SessionCookie("leadstream_portal", "/portal", secure),
        admin_cookie=SessionCookie("leadstream_admin", "/admin", secure),
    )


class SignInRequired(Exception):
    """No valid session for the page: GETs go to the sign-in page, POSTs get a 403."""

    def __init__(self, signin_url: str) -> None:
        super().__init__("sign in first")
        self.signin_url = signin_url


@dataclass(frozen=True)
class BuyerSession:
    buyer: Buyer
    session: Session


@dataclass(frozen=True)
class OperatorSession:
    session: Session


def app_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def state(request: Request) -> PortalState:
    portal: PortalState = request.app.state.portal
    return portal


def now() -> datetime:
    return datetime.now(UTC)


def read_session(request: Request, cookie: SessionCookie) -> Session | None:
    return state(request).signer.load(request.cookies.get(cookie.name), now())


def buyer_by_id(engine: Engine, buyer_id: int) -> tuple[Buyer, str] | None:
    """An active buyer and its key's stored hash, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                BuyerRow.id,
                BuyerRow.name,
                BuyerRow.trade_groups,
                BuyerRow.tiers,
                BuyerRow.counties,
                BuyerRow.plan,
                BuyerRow.key_hash,
            ).where(BuyerRow.id == buyer_id, BuyerRow.active.is_(True))
        ).first()
    if row is None:
        return None
    entitlements = Entitlements.of(row.trade_groups, row.tiers, row.counties)
    return Buyer(row.id, row.name, entitlements, BuyerPlan(row.plan)), row.key_hash


def signed_in_buyer(request: Request) -> BuyerSession:
    portal = state(request)
    session = read_session(request, portal.buyer_cookie)
    if session is not None and session.kind == "buyer" and session.buyer_id is not None:
        found = buyer_by_id(app_context(request).engine, session.buyer_id)
        # A deactivated buyer, or a key replaced since sign-in, ends the session.
        if found is not None and hmac.compare_digest(
            portal.signer.fingerprint(found[1]), session.key_fingerprint or ""
        ):
            return BuyerSession(found[0], session)
    raise SignInRequired("/portal/signin")


def signed_in_operator(request: Request) -> OperatorSession:
    portal = state(request)
    session = read_session(request, portal.admin_cookie)
    admin_key = app_context(request).settings.admin_key
    if (
        session is not None
        and session.kind == "operator"
        and admin_key is not None
        and hmac.compare_digest(
            portal.signer.fingerprint(admin_key.get_secret_value()),
            session.key_fingerprint or "",
        )
    ):
        return OperatorSession(session)
    raise SignInRequired("/admin/signin")


BuyerPage = Annotated[BuyerSession, Depends(signed_in_buyer)]
OperatorPage = Annotated[OperatorSession, Depends(signed_in_operator)]


async def checked_form(request: Request, session: Session | None) -> dict[str, str]:
    """The POSTed form's text fields, once its CSRF token matched the session's."""
    form = await request.form()
    check_csrf(session, form.get(FIELD))
    return {key: value for key, value in form.items() if isinstance(value, str)}


def render(
    request: Request,
    template: str,
    session: Session | None,
    status_code: int = 200,
    **values: Any,
) -> Response:
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {"csrf_token": None if session is None else session.csrf, "session": session, **values},
        status_code=status_code,
    )
    return secured(response)


def secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect(url: str) -> Response:
    """After a POST, to a page (303: the browser GETs it; reloading it posts nothing)."""
    return secured(RedirectResponse(url, status_code=303))


def signin_page(
    request: Request,
    cookie: SessionCookie,
    template: str,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """A sign-in form under a fresh anonymous session, so that form too has a CSRF token."""
    portal = state(request)
    session = read_session(request, cookie)
    if session is None or session.kind != "anon":
        session = portal.signer.new("anon", now())
    response = render(request, template, session, status_code, error=error)
    set_cookie(response, cookie, portal.signer, session)
    return response


def start_session(request: Request, cookie: SessionCookie, session: Session, to: str) -> Response:
    response = redirect(to)
    set_cookie(response, cookie, state(request).signer, session)
    return response


def end_session(cookie: SessionCookie, to: str) -> Response:
    response = redirect(to)
    clear_cookie(response, cookie)
    return response
