"""Who is signed in, for every page and event.

The session token stays in an HttpOnly cookie that Reflex never sees: the event socket's handshake
reaches Reflex with the cookie replaced by a session reference (security/socket_guard.py), so no
state (which a state manager may persist) holds a credential. `SessionBinding` resets every user's
UI state when the browser's session changes (sign-out, sign-in as someone else in the same tab, or a
session that ended on the server), before the event runs, so a hydrate never sends the previous user's data.
"""

from __future__ import annotations

from urllib.parse import quote

import reflex as rx
from reflex.event import EventSpec
from reflex.middleware import Middleware

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.models import User
from routy_app.services import audit, auth
from routy_app.services.audit import Actor
from routy_app.state import toast


def session_ref(state: rx.State) -> str:
    """The reference of the session cookie sent with this tab's connection ("" when signed out)."""
    return str(state.router.headers.raw_headers.get(auth.SESSION_REF_HEADER, ""))


def current_user(state: rx.State) -> User | None:
    with session_scope() as session:
        return auth.user_for_session_ref(session, session_ref(state))


def session_id(state: rx.State) -> str | None:
    """A non-secret id of the browser session, binding OAuth states to it."""
    ref = session_ref(state)
    return auth.session_id_for_ref(ref) if ref else None


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
        return toast.error(str(exc))
    return None


class AuthState(rx.State):
    """The signed-in user's email and role, for the header and for hiding admin-only controls."""

    user_email: str = ""
    user_role: str = ""
    sandbox_mode: bool = False
    _bound_ref: str = ""  # the session this tab's states were filled for (see SessionBinding)

    @rx.var
    def is_admin(self) -> bool:
        return self.user_role == "admin"


# Helpers on AuthState are module functions, not methods: Reflex dispatches any public method of a state
# as an event, and these must never be callable from a browser.


def resolve_user(auth_state: AuthState) -> User | None:
    """Refresh who is signed in; returns the user (None when signed out)."""
    user = current_user(auth_state)
    auth_state.user_email = user.email if user else ""
    auth_state.user_role = str(user.role) if user else ""
    auth_state.sandbox_mode = get_settings().is_sandbox
    return user


def sign_in_redirect(state: rx.State) -> EventSpec:
    with session_scope() as session:
        if auth.needs_first_admin(session):
            return rx.redirect("/setup")
    path = state.router.url.path if hasattr(state.router, "url") else "/"
    return rx.redirect(f"/login?next={quote(str(path) or '/')}")


def actor(state: rx.State) -> Actor:
    """The signed-in user as the services' `Actor` (who a change is audited as)."""
    user = current_user(state)
    return Actor(user.email, user.id) if user else Actor.system()


def audit_log(
    state: rx.State, action: str, *, integration_id: int | None = None, source_id: int | None = None, detail: str = ""
) -> None:
    """Record who did what (shown in the Connection tab's activity list)."""
    user = current_user(state)
    with session_scope() as session:
        audit.record(
            session,
            user.email if user else None,
            action,
            integration_id=integration_id,
            source_id=source_id,
            detail=detail,
            user_id=user.id if user else None,
        )


class SessionBinding(Middleware):
    """Every event first checks that the tab's state belongs to the session now sending it.

    Reflex keys state by the tab, not by who is signed in: after a sign-out (a full page load in the
    same tab) the next hydrate would send the previous user's states, API key and all. On a change
    of session every state of the app is reset to its defaults before the event is processed.
    """

    async def preprocess(self, app, state, event):  # noqa: ANN001 - Reflex's signature
        root = state._get_root_state()  # noqa: SLF001 - Reflex gives middleware no public way to the root
        live = _live_session_ref(root)
        binding = await root.get_state(AuthState)
        if binding._bound_ref != live:  # noqa: SLF001 - AuthState is this module's own
            await _reset_app_states(root)
            binding._bound_ref = live  # noqa: SLF001 - as above
        return


def _live_session_ref(state: rx.State) -> str:
    """The session reference when it names a live session, else "": a session that ended on the server
    (idle or absolute expiry, revoked by a password reset or by disabling the user) counts as a sign-out,
    although the browser still sends its cookie."""
    ref = session_ref(state)
    if not ref:
        return ""
    with session_scope() as session:
        return ref if auth.user_for_session_ref(session, ref) is not None else ""


async def _reset_app_states(root: rx.State) -> None:
    """Reset every state class of this app (not Reflex's internal ones), loading those not loaded."""
    pending = list(type(root).get_substates())
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("routy_app."):
            (await root.get_state(cls)).reset()
        else:
            pending.extend(cls.get_substates())
