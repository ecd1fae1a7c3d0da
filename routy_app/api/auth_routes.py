"""Sign-in, sign-out and first-admin set-up as plain form POSTs, so the session cookie can be
HttpOnly (JavaScript, and so Reflex state, never sees the token).

Each route refuses a form posted from another site (login CSRF, security/request_checks.py), and
sends the pages back an error *code*: the page shows our text for it, never text from the URL.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.security.request_checks import client_ip, from_our_origin
from routy_app.services import audit, auth


def _safe_next(value: str | None) -> str:
    """Only paths on this site: an open redirect after sign-in would help phishing.

    Browsers read a backslash as a slash ("/\\evil.example" goes to evil.example) and drop tabs and
    newlines from URLs, so those are refused along with "//host".
    """
    value = value or "/"
    if not value.startswith("/") or value.startswith("//") or "\\" in value or any(ord(c) < 32 for c in value):
        return "/"
    return value


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
    if not from_our_origin(request):
        return _back("/login", error="origin")

    def attempt() -> auth.SignInResult:
        with session_scope() as session:
            result = auth.sign_in(
                session, email, password, ip=client_ip(request), user_agent=request.headers.get("user-agent")
            )
            if result.ok and result.user is not None:
                audit.record(session, result.user.email, audit.AuditAction.SIGNED_IN, user_id=result.user.id)
            return result

    result = await asyncio.to_thread(attempt)
    if not result.ok or not result.token:
        wait = {"wait": str(int(result.retry_after.total_seconds()))} if result.retry_after else {}
        return _back("/login", error=result.code or "wrong", next=target, **wait)
    return _signed_in(target, result.token)


async def logout(request: Request) -> RedirectResponse | PlainTextResponse:
    if not from_our_origin(request):
        return PlainTextResponse("Sign-out refused: the form came from another site.", status_code=403)
    token = request.cookies.get(auth.SESSION_COOKIE)
    with session_scope() as session:
        user = auth.user_for_token(session, token)
        auth.sign_out(session, token)
        if user is not None:
            audit.record(session, user.email, audit.AuditAction.SIGNED_OUT, user_id=user.id)
    response = RedirectResponse("/login", status_code=303)
    params = auth.cookie_params(get_settings())
    response.delete_cookie(
        params["key"], path=params["path"], secure=params["secure"], httponly=True, samesite=params["samesite"]
    )
    return response


async def setup(request: Request) -> RedirectResponse:
    """Create the first admin (only while no user exists) and sign them in."""
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    if not from_our_origin(request):
        return _back("/setup", error="origin")
    if password != str(form.get("confirm", "")):
        return _back("/setup", error="mismatch", email=email)
    try:
        auth.normalize_email(email)
    except auth.AuthError:
        return _back("/setup", error="bad_email", email=email)
    if problem := auth.password_problem(password, email):
        return _back("/setup", error=problem[0], email=email)

    def create() -> auth.SignInResult:
        with session_scope() as session:
            auth.create_first_admin(session, email, password)
            return auth.sign_in(session, email, password, ip=client_ip(request))

    try:
        result = await asyncio.to_thread(create)
    except auth.AuthError:
        return _back("/setup", error="admin_exists")
    if not result.ok or not result.token:
        return _back("/login", error=result.code or "wrong")
    return _signed_in("/", result.token)


def routes() -> list[Route]:
    return [
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
        Route("/auth/setup", setup, methods=["POST"]),
    ]
