"""GA4 manual setup: Measurement ID + API secret, optionally a property and service account for pulling."""

from __future__ import annotations

import reflex as rx

from routy_app.state.connect import ConnectState


def _field(label: str, name: str, control: rx.Component, hint: str) -> rx.Component:
    error = ConnectState.ga4_field_errors.get(name, "")
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=name),
        control,
        rx.cond(
            error != "",
            rx.text(error, color_scheme="red", size="1", id=f"{name}-error", role="alert"),
            rx.text(hint, size="1", color_scheme="gray"),
        ),
        spacing="1",
        width="100%",
    )


def ga4_form() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Connect Google Analytics 4"),
            rx.dialog.description(
                "GA4 is set up with a data stream's Measurement ID and a Measurement Protocol API secret "
                "(GA4 Admin → Data streams → your stream).",
                size="2",
            ),
            rx.form(
                rx.vstack(
                    _field(
                        "Measurement ID",
                        "measurement_id",
                        rx.input(name="measurement_id", id="measurement_id", placeholder="G-XXXXXXXXXX", width="100%"),
                        "Starts with G- followed by capital letters and digits.",
                    ),
                    _field(
                        "API secret",
                        "api_secret",
                        rx.input(
                            name="api_secret", id="api_secret", type="password", width="100%", auto_complete="off"
                        ),
                        "Stored encrypted. Google cannot verify a secret before events arrive, so double-check it.",
                    ),
                    rx.separator(size="4"),
                    rx.text("Pull reports (optional)", weight="bold", size="2"),
                    _field(
                        "Property ID",
                        "property_id",
                        rx.input(name="property_id", id="property_id", placeholder="123456789", width="100%"),
                        "Digits only; needed to pull sessions and revenue.",
                    ),
                    _field(
                        "Service-account JSON",
                        "service_account_json",
                        rx.text_area(
                            name="service_account_json",
                            id="service_account_json",
                            rows="4",
                            placeholder='{"type": "service_account", ...}',
                            width="100%",
                        ),
                        "A key of a service account added as Viewer on the property.",
                    ),
                    rx.cond(
                        ConnectState.ga4_error != "",
                        rx.callout(
                            ConnectState.ga4_error,
                            icon="triangle_alert",
                            color_scheme="red",
                            role="alert",
                            width="100%",
                        ),
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                        rx.button(
                            rx.cond(ConnectState.ga4_saving, "Checking…", "Check and save"),
                            type="submit",
                            loading=ConnectState.ga4_saving,
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=ConnectState.save_ga4,
                reset_on_submit=False,
            ),
            max_width="520px",
        ),
        open=ConnectState.ga4_open,
        on_open_change=ConnectState.set_ga4_open,
    )
