"""Sign-in, sign-out and first-admin set-up as plain form POSTs, so the session cookie can be
HttpOnly (JavaScript, and so Reflex state, never sees the token)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.services import audit, auth


def _safe_next(value: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in would help phishing."""
    value = value or "/"
    return value if value.startswith("/") and not value.startswith("//") else "/"


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _back(path: str, **query: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode(query)}", status_code=303)


def _signed_in(target: str, token: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(value=token, **auth.cookie_params(get_settings()))
    return response


async def login(request: Request) -> RedirectResponse:
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "/")))

    def attempt() -> auth.SignInResult:
        with session_scope() as session:
            result = auth.sign_in(session, email, password, ip=_client_ip(request),
                                  user_agent=request.headers.get("user-agent"))
            if result.ok and result.user is not None:
                audit.record(session, result.user.email, audit.AuditAction.SIGNED_IN, user_id=result.user.id)
            return result

    result = await asyncio.to_thread(attempt)
    if not result.ok or not result.token:
        return _back("/login", error=result.message, next=target)
    return _signed_in(target, result.token)


async def logout(request: Request) -> RedirectResponse:
    token = request.cookies.get(auth.SESSION_COOKIE)
    with session_scope() as session:
        user = auth.user_for_token(session, token)
        auth.sign_out(session, token)
        if user is not None:
            audit.record(session, user.email, audit.AuditAction.SIGNED_OUT, user_id=user.id)
    response = RedirectResponse("/login", status_code=303)
    params = auth.cookie_params(get_settings())
    response.delete_cookie(params["key"], path=params["path"], secure=params["secure"], httponly=True,
                           samesite=params["samesite"])
    return response


async def setup(request: Request) -> RedirectResponse:
    """Create the first admin (only while no user exists) and sign them in."""
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    if password != str(form.get("confirm", "")):
        return _back("/setup", error="The two passwords differ.", email=email)

    def create() -> auth.SignInResult:
        with session_scope() as session:
            if problem := auth.check_password_strength(password, email):
                return auth.SignInResult(None, problem)
            auth.create_first_admin(session, email, password)
            return auth.sign_in(session, email, password, ip=_client_ip(request))

    try:
        result = await asyncio.to_thread(create)
    except auth.AuthError as exc:
        return _back("/setup", error=str(exc), email=email)
    if not result.ok or not result.token:
        return _back("/setup", error=result.message, email=email)
    return _signed_in("/", result.token)


def routes() -> list[Route]:
    return [
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
        Route("/auth/setup", setup, methods=["POST"]),
    ]
