"""Controls that change things, as a viewer sees them: disabled, with an "Admins only" hint beside.

The server still refuses every change from a viewer (state.auth.refusal); this only says so before the click.
"""

from __future__ import annotations

import reflex as rx

from routy_app.state.auth import AuthState

HINT = "Admins only"


def admin_only(control: rx.Component) -> rx.Component:
    """`control` as is for an admin; for a viewer the same control (which the caller disables with
    `disabled=~AuthState.is_admin`) with the hint beside it."""
    return rx.cond(
        AuthState.is_admin,
        control,
        rx.hstack(
            control,
            rx.text(HINT, size="1", color_scheme="gray", class_name="admins-only"),
            align="center",
            spacing="2",
            title="Only admins can change this; you are signed in as a viewer.",
        ),
    )


def admin_button(*children: rx.Component | str | rx.Var, hint: bool = True, **props: object) -> rx.Component:
    """A button that changes something: disabled for viewers (with the hint beside it unless `hint=False`,
    for buttons repeated on every row of a table)."""
    disabled = props.pop("disabled", None)
    off = ~AuthState.is_admin if disabled is None else (~AuthState.is_admin) | disabled
    button = rx.button(*children, disabled=off, **props)
    return admin_only(button) if hint else button
