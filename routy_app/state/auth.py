"""Who is signed in, for every page and event. The session token stays in an HttpOnly cookie:
the server reads it from the websocket's request headers; the browser's state never holds it."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import quote

import reflex as rx

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.models import User
from routy_app.services import audit, auth


def session_token(state: rx.State) -> str | None:
    """The routy_session cookie sent with this tab's connection."""
    raw = state.router.headers.cookie or ""
    cookie = SimpleCookie()
    try:
        cookie.load(raw)
    except Exception:  # noqa: BLE001 - a malformed Cookie header means "not signed in"
        return None
    morsel = cookie.get(auth.SESSION_COOKIE)
    return morsel.value if morsel else None


def current_user(state: rx.State) -> User | None:
    with session_scope() as session:
        return auth.user_for_token(session, session_token(state))


def session_id(state: rx.State) -> str | None:
    """A non-secret id of the browser session, binding OAuth states to it."""
    token = session_token(state)
    return auth.session_id_for_token(token) if token else None


def refusal(state: rx.State, action: str = "make changes"):
    """None when the signed-in user is an admin, else the toast (or redirect) to send back.

    Every mutating event calls this first: hiding buttons from viewers is not the protection.
    """
    user = current_user(state)
    if user is None:
        return rx.redirect("/login")
    try:
        auth.require_admin(user, action)
    except auth.Forbidden as exc:
        return rx.toast.error(str(exc))
    return None


class AuthState(rx.State):
    """The signed-in user's email and role, for the header and for hiding admin-only controls."""

    user_email: str = ""
    user_role: str = ""
    sandbox_mode: bool = False

    @rx.var
    def is_admin(self) -> bool:
        return self.user_role == "admin"

    def resolve(self) -> User | None:
        """Refresh who is signed in; returns the user (None when signed out)."""
        user = current_user(self)
        self.user_email = user.email if user else ""
        self.user_role = str(user.role) if user else ""
        self.sandbox_mode = get_settings().is_sandbox
        return user

    def sign_in_redirect(self):
        with session_scope() as session:
            if auth.needs_first_admin(session):
                return rx.redirect("/setup")
        path = self.router.url.path if hasattr(self.router, "url") else "/"
        return rx.redirect(f"/login?next={quote(str(path) or '/')}")


def audit_log(state: rx.State, action: str, *, integration_id: int | None = None, source_id: int | None = None,
              detail: str = "") -> None:
    """Record who did what (shown in the Connection tab's activity list)."""
    user = current_user(state)
    with session_scope() as session:
        audit.record(session, user.email if user else None, action, integration_id=integration_id,
                     source_id=source_id, detail=detail, user_id=user.id if user else None)
