"""The sign-in, first-admin and Users pages."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import reflex as rx

from routy_app.db import session_scope
from routy_app.services import auth
from routy_app.state import toast
from routy_app.state.auth import AuthState, current_user, refusal, resolve_user, sign_in_redirect


@dataclass(frozen=True)
class UserRow:
    email: str
    role: str
    status: str
    created: str


class LoginState(rx.State):
    error: str = ""
    next_path: str = "/"
    email: str = ""

    @rx.event
    def load_login(self):
        with session_scope() as session:
            if auth.needs_first_admin(session):
                return rx.redirect("/setup")
        if current_user(self) is not None:
            return rx.redirect("/")
        params = self.router.page.params
        self.error = auth.form_message(str(params.get("error", "")), str(params.get("wait", "")))
        self.next_path = str(params.get("next", "/"))[:500] or "/"
        return None

    @rx.event
    def load_setup(self):
        with session_scope() as session:
            if not auth.needs_first_admin(session):
                return rx.redirect("/login")  # the page exists only until the first admin is created
        params = self.router.page.params
        self.error = auth.form_message(str(params.get("error", "")))
        self.email = str(params.get("email", ""))[:200]
        return None


class UsersState(rx.State):
    users: list[UserRow] = []
    error: str = ""

    def _load(self) -> None:
        with session_scope() as session:
            self.users = [
                UserRow(
                    email=u.email,
                    role=str(u.role),
                    status="disabled" if u.disabled else "active",
                    created=u.created_at.strftime("%Y-%m-%d"),
                )
                for u in auth.list_users(session)
            ]

    @rx.event
    async def load(self):
        auth_state = await self.get_state(AuthState)
        if resolve_user(auth_state) is None:
            return sign_in_redirect(auth_state)
        if not auth_state.is_admin:
            return [rx.redirect("/"), toast.error("Only admins can manage users.")]
        self._load()
        return None

    @rx.event
    async def add_user(self, form: dict):
        if (denied := refusal(self, "add users")) is not None:
            return denied
        actor = current_user(self)
        email, password, role = (
            str(form.get("email", "")),
            str(form.get("password", "")),
            str(form.get("role", "viewer")),
        )

        def create() -> None:
            with session_scope() as session:
                if problem := auth.check_password_strength(password, email):
                    raise auth.AuthError(problem)
                auth.add_user(session, email, password, role, actor=actor.email if actor else "ui")

        try:
            await asyncio.to_thread(create)
        except auth.AuthError as exc:
            self.error = str(exc)
            return None
        self.error = ""
        self._load()
        return toast.success(f"Added {email} as {role}.")

    @rx.event
    def set_disabled(self, email: str, disabled: bool):
        if (denied := refusal(self, "disable users")) is not None:
            return denied
        actor = current_user(self)
        try:
            with session_scope() as session:
                auth.set_disabled(session, email, disabled, actor=actor.email if actor else "ui")
        except auth.AuthError as exc:
            return toast.error(str(exc))
        self._load()
        return toast.success(f"{email} is {'disabled' if disabled else 'enabled'}.")
