"""The buyer portal (``/portal/``) and the operators' pages (``/admin/``): server-rendered HTML.

``install`` adds both to the exporter's app: routers, static files, and the error handlers
that answer a browser with a page instead of JSON.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from services.common.messages import describe_problems
from services.exporter.portal.admin_pages import router as admin_router
from services.exporter.portal.buyer_pages import router as buyer_router
from services.exporter.portal.csrf import CsrfRejected
from services.exporter.portal.market_pages import router as market_router
from services.exporter.portal.subscription_pages import router as subscription_router
from services.exporter.portal.web import HERE, SignInRequired, portal_state, redirect, render
from services.exporter.settings import ExporterSettings

PAGE_PREFIXES = ("/portal/", "/admin/")


def install(app: FastAPI, settings: ExporterSettings) -> None:
    app.state.portal = portal_state(settings)
    app.mount("/portal/static", StaticFiles(directory=HERE / "static"), name="portal-static")
    for router in (buyer_router, market_router, subscription_router, admin_router):
        app.include_router(router)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.add_exception_handler(RequestValidationError, _invalid_request)

    @app.get("/portal", include_in_schema=False)
    @app.get("/admin", include_in_schema=False)
    def _with_slash(request: Request) -> Response:
        return redirect(request.url.path + "/")


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    if request.method in ("GET", "HEAD"):
        return redirect(exc.signin_url)
    return _page(request, 403, "Please sign in", "Your session has ended: sign in again.", exc)


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    return _page(request, 403, "Request refused", f"Refused for your safety: {exc}.", exc)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """Pages get a page that says what was wrong; the JSON API keeps FastAPI's 422."""
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith(PAGE_PREFIXES):
        return await request_validation_exception_handler(request, exc)
    # A form field's location is ("body", name): the page names the field alone.
    problems = describe_problems(
        ({**error, "loc": error["loc"][1:]} for error in exc.errors() if error.get("loc")),
        whole="form",
    )
    return _page(request, 422, "Please check the form", problems or "invalid input", exc)


def _page(request: Request, status: int, title: str, message: str, _: Exception) -> Response:
    admin = request.url.path.startswith("/admin")
    home = "/admin/" if admin else "/portal/"
    return render(
        request,
        "message.html",
        None,
        status_code=status,
        admin=admin,
        title=title,
        message=message,
        error=True,
        back=home,
        back_label="Back to the start page",
    )
