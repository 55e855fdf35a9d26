"""The analysts' web app: ``create_app(settings)`` builds it, ``mmsurv serve`` runs it.

Server-rendered pages (Jinja2) over the case store's service layer and the lake,
with a little JavaScript only where it helps (the market replay chart). Every
asset is served by the app itself, so it works with no internet.

Safety, in the order a request meets it:

- security headers on every response (a strict Content-Security-Policy: scripts,
  styles and images from this origin only; no framing);
- a signed, HTTP-only session cookie (``Secure`` unless configured for local
  HTTP), with an absolute and an idle lifetime;
- a CSRF token, checked on every state-changing request before any handler runs;
- the signed-in user, re-read from the case store on every request (a disabled
  user is signed out at once);
- the role, checked by the route and again by the service layer, which is the
  authority;
- errors shown as plain messages; a stack trace is logged, never shown.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from surveillance import __version__
from surveillance.cases import CaseStore
from surveillance.cases import errors as case_errors
from surveillance.config import load_config
from surveillance.settings import Settings
from surveillance.web import deps, store
from surveillance.web.config import WebConfig
from surveillance.web.security import LoginThrottle, session_secret

log = logging.getLogger("surveillance.web")

PACKAGE_DIR = Path(__file__).parent
SESSION_COOKIE = "mmsurv_session"
#: Same origin for everything; the replay's data block is JSON, never executed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@functools.cache
def page_templates() -> Jinja2Templates:
    """The packaged page templates, compiled once per process and shared by every app."""
    templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
    templates.env.globals["version"] = __version__
    templates.env.globals["url_for"] = deps.path_for
    templates.env.filters["ts"] = deps.format_time
    templates.env.filters["num"] = deps.format_number
    return templates


def web_config(settings: Settings) -> WebConfig:
    """The ``[web]`` section of the run's configuration file (defaults if absent)."""
    return load_config(settings.config_path).section("web", WebConfig)


def create_app(
    settings: Settings,
    *,
    config: WebConfig | None = None,
    https_only: bool | None = None,
    signing_key: str | Path | None = None,
) -> FastAPI:
    """Build the web app over the case store and lake that ``settings`` name.

    The case store is brought to the newest schema on the way (idempotent), so a
    fresh lake's database works at once.

    Parameters
    ----------
    settings
        Landing, lake, case-store URL and configuration file of the run.
    config
        The ``[web]`` settings; read from ``settings.config_path`` when omitted.
    https_only
        Send the session cookie only over HTTPS. Overrides ``config.https_only``;
        when both are unset the cookie is secure (``mmsurv serve`` relaxes it for a
        loopback address).
    signing_key
        Private key that signs evidence packs exported from the case page; else
        ``MMSURV_SIGNING_KEY``. Without one the export button is not offered.

    Raises
    ------
    ConfigError
        If the configuration or the session key is invalid.
    """
    cfg = config or web_config(settings)
    secure = https_only if https_only is not None else cfg.https_only
    if secure is None:
        secure = True

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.cases.dispose()

    app = FastAPI(
        title="mm-surveillance",
        lifespan=lifespan,
        version=__version__,
        debug=False,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(deps.csrf_protect)],
    )
    app.state.settings = settings
    app.state.web = cfg
    app.state.cases = CaseStore.from_settings(settings)
    app.state.signing_key = store.signing_key_path(signing_key)
    app.state.throttle = LoginThrottle(
        max_per_user=cfg.login_max_failures_per_user,
        max_per_address=cfg.login_max_failures_per_address,
        window_s=cfg.login_window_minutes * 60,
        lockout_s=cfg.login_lockout_minutes * 60,
    )
    app.state.templates = page_templates()

    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings.lake_uri),
        session_cookie=SESSION_COOKIE,
        max_age=int(cfg.session_max_hours * 3600),
        same_site="lax",
        https_only=secure,
    )

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")

    from surveillance.web.routers import audit, auth, cases, dashboard, queue

    for router in (auth.router, queue.router, cases.router, dashboard.router, audit.router):
        app.include_router(router)
    _install_error_handlers(app)

    return app


def _wants_json(request: Request) -> bool:
    return (
        request.url.path.endswith(".json")
        or "application/json" in request.headers.get("accept", "").split(",")[0]
    )


def error_response(
    request: Request,
    status: int,
    title: str,
    message: str,
    *,
    reference: str | None = None,
) -> Response:
    """A plain error page (or JSON for the chart's data requests); never a traceback."""
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    user = getattr(request.state, "user", None)
    return request.app.state.templates.TemplateResponse(
        request,
        "error.html",
        {
            "title": title,
            "message": message,
            "reference": reference,
            "user": user,
            "csrf_token": deps.csrf_token(request),
            "flashes": [],
            "nav": None,
            "back_url": "/" if user else "/login",
            "back_label": "Back to the case queue" if user else "Sign in",
        },
        status_code=status,
    )


_TITLES = {
    400: "Bad request",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(deps.NotSignedIn)
    async def _not_signed_in(request: Request, exc: deps.NotSignedIn) -> Response:
        if request.method == "GET" and not _wants_json(request):
            if exc.message != deps.NotSignedIn().message:
                deps.flash(request, "error", exc.message)  # why the session ended
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            login = request.url_for("login_form").path
            return RedirectResponse(f"{login}?{urlencode({'next': target})}", 303)
        return error_response(request, 401, _TITLES[401], exc.message)

    @app.exception_handler(deps.CsrfRefused)
    async def _csrf(request: Request, exc: deps.CsrfRefused) -> Response:
        return error_response(request, 403, "Form expired", exc.message)

    @app.exception_handler(case_errors.PermissionDenied)
    async def _denied(request: Request, exc: case_errors.PermissionDenied) -> Response:
        return error_response(request, 403, _TITLES[403], str(exc))

    @app.exception_handler(case_errors.NotFoundError)
    async def _missing(request: Request, exc: case_errors.NotFoundError) -> Response:
        return error_response(request, 404, _TITLES[404], str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = _TITLES.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is no page at {request.url.path}."
        return error_response(request, exc.status_code, title, detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        message = deps.describe_validation(exc.errors())
        return error_response(request, 400, _TITLES[400], message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        reference = secrets.token_hex(4)
        log.exception("unhandled error %s on %s %s", reference, request.method, request.url.path)
        return error_response(
            request,
            500,
            "Something went wrong",
            "The server could not complete this request. Nothing was changed by it unless "
            "the case history says so. Try again; if it keeps failing, give the "
            "administrator the reference below.",
            reference=reference,
        )
