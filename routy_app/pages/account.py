"""Sign-in, first-admin set-up and Users pages (plain HTML forms posting to /auth/*)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from routy_app.components.layout import shell
from routy_app.components.notices import toast_relay
from routy_app.state.account import LoginState, UsersState


def _centered(*children: rx.Component) -> rx.Component:
    return rx.center(
        toast_relay(),
        rx.card(rx.vstack(*children, spacing="4", width="100%"), width="100%", max_width="380px", size="3"),
        min_height="100vh",
        padding="1em",
    )


def _input(label: str, name: str, kind: str = "text", **props: Any) -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=name),
        rx.input(name=name, id=name, type=kind, width="100%", **props),
        spacing="1",
        width="100%",
    )


def _native_form(form_id: str, action: str, *children: rx.Component) -> rx.Component:
    """A form the browser itself POSTs (so the server can set an HttpOnly cookie on the answer).

    Reflex forms always prevent the default submit; the handler re-submits natively.
    """
    return rx.el.form(
        *children,
        id=form_id,
        action=action,
        method="post",
        on_submit=rx.call_function(f"() => document.getElementById('{form_id}').submit()"),
    )


def _error() -> rx.Component:
    return rx.cond(
        LoginState.error != "",
        rx.callout(LoginState.error, icon="triangle_alert", color_scheme="red", role="alert", width="100%"),
    )


def login_page() -> rx.Component:
    return _centered(
        rx.heading("Sign in to Routy", size="5"),
        _error(),
        _native_form(
            "login-form",
            "/auth/login",
            rx.vstack(
                _input("Email", "email", "email", auto_complete="username", required=True),
                _input("Password", "password", "password", auto_complete="current-password", required=True),
                rx.el.input(type="hidden", name="next", value=LoginState.next_path),
                rx.button("Sign in", type="submit", width="100%"),
                spacing="3",
            ),
        ),
    )


def setup_page() -> rx.Component:
    return _centered(
        rx.heading("Create the admin", size="5"),
        rx.text(
            "No user exists yet. The first account you create here is an admin; this page then disappears.",
            size="2",
            color_scheme="gray",
        ),
        _error(),
        _native_form(
            "setup-form",
            "/auth/setup",
            rx.vstack(
                _input("Email", "email", "email", default_value=LoginState.email, required=True),
                _input("Password", "password", "password", auto_complete="new-password", required=True),
                rx.text(
                    "At least 12 characters, mixing letters, digits or symbols; not a common password.",
                    size="1",
                    color_scheme="gray",
                ),
                _input("Repeat password", "confirm", "password", auto_complete="new-password", required=True),
                rx.button("Create admin and sign in", type="submit", width="100%"),
                spacing="3",
            ),
        ),
    )


def _user_row(user) -> rx.Component:
    return rx.table.row(
        rx.table.cell(user.email),
        rx.table.cell(rx.badge(user.role)),
        rx.table.cell(user.status),
        rx.table.cell(user.created),
        rx.table.cell(
            rx.cond(
                user.status == "active",
                rx.button(
                    "Disable",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=UsersState.set_disabled(user.email, True),
                ),
                rx.button("Enable", size="1", variant="soft", on_click=UsersState.set_disabled(user.email, False)),
            )
        ),
    )


def users_page() -> rx.Component:
    return shell(
        rx.vstack(
            rx.heading("Users", size="6", as_="h1"),
            rx.text(
                "Admins connect, disconnect and change settings; viewers see everything except secrets and "
                "change nothing.",
                size="2",
                color_scheme="gray",
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(*[rx.table.column_header_cell(h) for h in ("Email", "Role", "Status", "Created", "")])
                ),
                rx.table.body(rx.foreach(UsersState.users, _user_row)),
                width="100%",
            ),
            rx.heading("Add a user", size="4"),
            rx.cond(
                UsersState.error != "",
                rx.callout(UsersState.error, icon="triangle_alert", color_scheme="red", role="alert"),
            ),
            rx.form(
                rx.hstack(
                    _input("Email", "email", "email", required=True),
                    _input("Password", "password", "password", auto_complete="new-password", required=True),
                    rx.vstack(
                        rx.text("Role", size="2", weight="medium"),
                        rx.select(["viewer", "admin"], name="role", default_value="viewer"),
                        spacing="1",
                    ),
                    rx.button("Add user", type="submit"),
                    align="end",
                    spacing="3",
                    wrap="wrap",
                ),
                on_submit=lambda form: UsersState.add_user(form),
                reset_on_submit=True,
            ),
            spacing="4",
            width="100%",
        )
    )
