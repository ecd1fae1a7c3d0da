"""What alerts, per traffic source: each kind's switch and thresholds (admins change, viewers read)."""

from __future__ import annotations

import reflex as rx

from routy_app.state.auth import AuthState
from routy_app.state.notifications import NotificationsState as N
from routy_app.state.source import SourceState


def _param(param) -> rx.Component:
    error = N.rule_errors.get(param.field, "")
    return rx.vstack(
        rx.hstack(
            rx.text(param.label, size="1"),
            # No min/max attributes: the server's message names the range (the browser's bubble would not).
            rx.input(
                name=param.field,
                id="rule-" + param.field,
                default_value=param.value,
                type="number",
                width="7em",
                size="1",
                key=N.rule_version.to_string() + param.field,
                read_only=~AuthState.is_admin,
                aria_label=param.label + " " + param.unit,
            ),
            rx.text(param.unit, size="1"),
            align="center",
            spacing="2",
        ),
        rx.cond(error != "", rx.text(error, color_scheme="red", size="1", role="alert")),
        spacing="1",
    )


def _rule(row) -> rx.Component:
    return rx.hstack(
        rx.switch(
            checked=N.rule_enabled[row.kind],
            on_change=lambda v: N.set_rule_enabled(row.kind, v),
            disabled=~AuthState.is_admin,
            aria_label=row.label,
            margin_top="2px",
        ),
        rx.vstack(
            rx.text(row.label, weight="medium", size="2"),
            rx.text(row.description, size="1", color_scheme="gray"),
            rx.flex(rx.foreach(row.params, _param), spacing="4", wrap="wrap"),
            spacing="1",
            width="100%",
        ),
        align="start",
        spacing="3",
        width="100%",
        padding_y="0.5em",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        class_name="alert-rule",
    )


def alert_rules() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("Traffic source", size="2", weight="medium"),
            rx.select.root(
                rx.select.trigger(aria_label="Traffic source for alerts", min_width="14em"),
                rx.select.content(
                    rx.foreach(SourceState.sources, lambda s: rx.select.item(s.name, value=s.id.to_string()))
                ),
                value=N.rule_source,
                on_change=N.set_rule_source,
            ),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        rx.form(
            rx.vstack(
                rx.foreach(N.rule_rows, _rule),
                rx.cond(AuthState.is_admin, rx.button("Save alerts", type="submit", variant="soft")),
                spacing="1",
                width="100%",
            ),
            on_submit=N.save_rules,
            reset_on_submit=False,
            width="100%",
            id="alert-rules",
        ),
        spacing="3",
        width="100%",
    )
