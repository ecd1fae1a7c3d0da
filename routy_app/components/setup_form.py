"""The set-up form of a provider connected by hand (GA4, the Webhook): its fields come from the provider's
definition (`ProviderDefinition.setup_fields`), so a new manual provider needs no form code of its own."""

from __future__ import annotations

import reflex as rx

from routy_app import styles
from routy_app.state.connect import ConnectState


def _control(field) -> rx.Component:
    common = {"name": field.name, "id": field.name, "placeholder": field.placeholder, "width": "100%"}
    return rx.match(
        field.kind,
        ("secret", rx.input(type="password", auto_complete="off", **common)),
        ("textarea", rx.text_area(rows="4", default_value=field.default, **common)),
        (
            "choice",
            rx.select.root(
                rx.select.trigger(id=field.name, width="100%"),
                rx.select.content(rx.foreach(field.choices, lambda c: rx.select.item(c.label, value=c.value))),
                name=field.name,
                default_value=field.default,
            ),
        ),
        rx.input(default_value=field.default, **common),
    )


def _field(field) -> rx.Component:
    error = ConnectState.setup_field_errors.get(field.name, "")
    return rx.vstack(
        rx.cond(
            field.heading != "",
            rx.vstack(rx.separator(size="4"), rx.text(field.heading, weight="bold", size="2"), width="100%"),
        ),
        rx.el.label(rx.text(field.label, size="2", weight="medium"), html_for=field.name),
        _control(field),
        rx.cond(
            error != "",
            rx.text(error, color_scheme="red", size="1", id=field.name + "-error", role="alert"),
            rx.text(field.description, size="1", color_scheme="gray"),
        ),
        spacing="1",
        width="100%",
    )


def setup_form() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Connect ", ConnectState.setup_title),
            rx.dialog.description(ConnectState.setup_intro, size="2"),
            rx.form(
                rx.vstack(
                    rx.foreach(ConnectState.setup_fields, _field),
                    rx.cond(
                        ConnectState.setup_error != "",
                        rx.callout(
                            ConnectState.setup_error,
                            icon="triangle_alert",
                            color_scheme="red",
                            role="alert",
                            width="100%",
                        ),
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                        rx.button(
                            rx.cond(ConnectState.setup_saving, "Checking…", "Check and save"),
                            type="submit",
                            loading=ConnectState.setup_saving,
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=ConnectState.save_setup,
                reset_on_submit=False,
            ),
            max_width=styles.FORM_DIALOG_WIDTH,
        ),
        open=ConnectState.setup_open,
        on_open_change=ConnectState.set_setup_open,
    )
