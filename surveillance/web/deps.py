"""Request dependencies: CSRF check, the signed-in user, the case store, page rendering.

Routes declare what they need (``user: CurrentUser``, ``cases: StoreDep``); tests
override these through ``app.dependency_overrides`` like any FastAPI dependency.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from jinja2 import pass_context

from surveillance.web import store
from surveillance.web.config import WebConfig
from surveillance.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    CSRF_SESSION_KEY,
    csrf_matches,
    new_csrf_token,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_USER_KEY = "user"
_ISSUED_KEY = "iat"
_SEEN_KEY = "seen"
_FLASH_KEY = "flash"


#: Wall clock of session lifetimes (tests move it; cookie signing keeps the real one).
clock = time.time


class NotSignedIn(Exception):
    """No valid session: the page redirects to sign-in, a form post is refused."""

    def __init__(self, message: str = "Please sign in to continue.") -> None:
        super().__init__(message)
        self.message = message


class CsrfRefused(Exception):
    """A state-changing request without the session's CSRF token."""

    def __init__(self) -> None:
        self.message = (
            "This form could not be accepted: it has expired or did not come from this "
            "application. Reload the page and try again."
        )
        super().__init__(self.message)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    session = request.session
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = new_csrf_token()
        session[CSRF_SESSION_KEY] = token
    return token


async def csrf_protect(request: Request) -> None:
    """Refuse any state-changing request whose form field or header lacks the token.

    Installed on the whole app, so a new POST route is protected without remembering
    to ask. The token is per session and compared in constant time; it is read
    from the ``csrf_token`` form field or the ``X-CSRF-Token`` header.
    """
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not csrf_matches(request.session.get(CSRF_SESSION_KEY), given):
        raise CsrfRefused()


def web_settings(request: Request) -> WebConfig:
    config: WebConfig = request.app.state.web
    return config


def get_store(request: Request) -> store.CaseStore:
    """The case store's service layer (one per app; tests may override)."""
    cases: store.CaseStore = request.app.state.cases
    return cases


StoreDep = Annotated[store.CaseStore, Depends(get_store)]
WebDep = Annotated[WebConfig, Depends(web_settings)]


def sign_in(request: Request, username: str) -> None:
    """Start a fresh session for ``username`` (a new CSRF token: no fixation)."""
    request.session.clear()
    now = clock()
    request.session.update(
        {_USER_KEY: username, _ISSUED_KEY: now, _SEEN_KEY: now, CSRF_SESSION_KEY: new_csrf_token()}
    )


def sign_out(request: Request) -> None:
    request.session.clear()


def current_user(request: Request, cases: StoreDep, web: WebDep) -> store.UserView:
    """The signed-in, still active user; raises :class:`NotSignedIn` otherwise.

    The session's absolute and idle lifetimes are enforced here, and the user is
    re-read from the case store on every request, so disabling a user or changing
    a role takes effect at once.
    """
    session = request.session
    username = session.get(_USER_KEY)
    if not isinstance(username, str):
        raise NotSignedIn()
    now = clock()
    issued = float(session.get(_ISSUED_KEY, 0))
    seen = float(session.get(_SEEN_KEY, 0))
    if now - issued > web.session_max_hours * 3600:
        sign_out(request)
        raise NotSignedIn("Your session has ended (it is limited in length). Please sign in again.")
    if now - seen > web.session_idle_minutes * 60:
        sign_out(request)
        raise NotSignedIn("You were signed out after a period of inactivity. Please sign in again.")
    user = store.active_user(cases, username)
    if user is None:
        sign_out(request)
        raise NotSignedIn("Your account is no longer active. Ask an administrator.")
    # Write the session only when the idle clock moves noticeably: fewer cookie rewrites.
    if now - seen > 30:
        session[_SEEN_KEY] = now
    request.state.user = user
    return user


CurrentUser = Annotated[store.UserView, Depends(current_user)]


def flash(request: Request, kind: str, text: str) -> None:
    """Queue a message for the next page this session renders (``ok``/``error``/``conflict``)."""
    messages = list(request.session.get(_FLASH_KEY, []))
    messages.append([kind, text])
    request.session[_FLASH_KEY] = messages[-5:]


@pass_context
def path_for(context: Mapping[str, Any], name: str, /, **params: Any) -> str:
    """The path of a named route: relative links work behind any proxy or TLS terminator."""
    request: Request = context["request"]
    return request.url_for(name, **params).path


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    """A page with the layout's common context (user, CSRF token, pending messages)."""
    flashes = request.session.pop(_FLASH_KEY, [])
    full = {
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request),
        "flashes": [tuple(m) for m in flashes],
        "nav": None,
        **context,
    }
    response: Response = request.app.state.templates.TemplateResponse(
        request, template, full, status_code=status_code
    )
    return response


def describe_validation(errors: Sequence[Any]) -> str:
    """A plain sentence for a form or query that failed validation."""
    parts = []
    for error in errors[:5]:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "form")]
        field = ".".join(loc) or "input"
        parts.append(f"'{field}': {str(error.get('msg', 'invalid')).lower()}")
    return "The request was not accepted: " + "; ".join(parts) + "."


def format_time(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A UTC timestamp as text ('' for none); the app shows every time in UTC."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        # %f gives microseconds; the venue's clocks are read to the millisecond.
        return value.strftime(fmt.replace("%f", f"{value.microsecond // 1000:03d}"))
    return str(value)


def format_number(value: Any, digits: int = 2) -> str:
    """A number with thousands separators and at most ``digits`` decimals (trailing zeros
    dropped, so prices read as the venue quotes them); '' for none or NaN."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        text = f"{value:,.{digits}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
