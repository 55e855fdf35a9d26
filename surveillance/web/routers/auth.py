"""Sign-in and sign-out.

A failed sign-in says only that the user name or password is wrong (never which),
costs the same time either way (the case store verifies a dummy hash for unknown
names) and counts against both the user name and the client address; past the
limit, attempts are refused for the lockout period without checking the password.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from surveillance.cases.errors import AuthenticationError
from surveillance.web import deps
from surveillance.web.models import LoginForm
from surveillance.web.security import LoginThrottle

router = APIRouter()


def _safe_next(target: str) -> str:
    """Only a path on this site: an open redirect would help phishing."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/cases"


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/", include_in_schema=False)
def home() -> Response:
    return RedirectResponse("/cases", 303)


@router.get("/login", name="login_form")
def login_form(request: Request, next: str = "/cases") -> Response:
    if isinstance(request.session.get("user"), str):
        return RedirectResponse(_safe_next(next), 303)
    return deps.render(request, "login.html", {"next_url": _safe_next(next), "error": None})


@router.post("/login", name="login")
def login(request: Request, form: Annotated[LoginForm, Form()], cases: deps.StoreDep) -> Response:
    throttle: LoginThrottle = request.app.state.throttle
    address = _client_address(request)
    context = {"next_url": _safe_next(form.next), "username": form.username}
    lockout = throttle.check(form.username, address)
    if lockout is not None:
        response = deps.render(
            request, "login.html", {**context, "error": lockout.message()}, status_code=429
        )
        response.headers["Retry-After"] = str(lockout.retry_after_s)
        return response
    try:
        user = cases.authenticate(form.username, form.password)
    except AuthenticationError:
        throttle.failure(form.username, address)
        return deps.render(
            request,
            "login.html",
            {**context, "error": "The user name or password is wrong, or the account is disabled."},
            status_code=401,
        )
    throttle.success(form.username)
    deps.sign_in(request, user.username)
    return RedirectResponse(_safe_next(form.next), 303)


@router.post("/logout", name="logout")
def logout(request: Request) -> Response:
    deps.sign_out(request)
    deps.flash(request, "ok", "You are signed out.")
    return RedirectResponse("/login", 303)
