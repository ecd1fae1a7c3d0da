"""The Conversions tab: API key, a curl example, a test-conversion form and recent conversions."""

from __future__ import annotations

from typing import Any

import reflex as rx

from routy_app import styles
from routy_app.components.pager import pager
from routy_app.state.auth import AuthState
from routy_app.state.conversions import PAGE_SIZE, ConversionsState


def _field(label: str, name: str, placeholder: str = "", **props: Any) -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="1", weight="medium"), html_for=f"conv-{name}"),
        rx.input(name=name, id=f"conv-{name}", placeholder=placeholder, width="100%", **props),
        spacing="1",
        min_width="180px",
        flex="1",
    )


def _curl(key: rx.Var | str) -> rx.Component:
    return rx.code_block(
        "curl -X POST "
        + ConversionsState.api_url
        + " \\\n"
        + '  -H "Authorization: Bearer '
        + key
        + '" \\\n'
        + '  -H "Content-Type: application/json" \\\n'
        + """  -d '{"id": "order-1001", "event_type": "sale", "occurred_at": "2026-11-27T14:03:00+01:00",
       "value": "129.90", "currency": "EUR", "gclid": "Cj0KCQ...", "email": "buyer@example.com",
       "origin": "web"}'""",
        language="bash",
        wrap_long_lines=True,
        width="100%",
        # a phone: the block scrolls inside itself rather than widening the page
        max_width="100%",
        overflow_x="auto",
        code_tag_props={"style": {"whiteSpace": "pre-wrap", "overflowWrap": "anywhere"}},
    )


def new_key_dialog() -> rx.Component:
    """The one place a new key is shown; closing the dialog forgets it (server and page)."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("New API key"),
            rx.dialog.description("Copy it now: it is shown only once. The old key stopped working.", size="2"),
            rx.vstack(
                rx.code(ConversionsState.new_key, id="api-key-new", size="3", style={"word_break": "break-all"}),
                _curl(ConversionsState.new_key),
                rx.hstack(
                    rx.button("Copy key", variant="soft", on_click=rx.set_clipboard(ConversionsState.new_key)),
                    rx.dialog.close(rx.button("Done")),
                    justify="end",
                    spacing="3",
                    width="100%",
                ),
                spacing="3",
                padding_top="0.75em",
                width="100%",
            ),
            max_width=styles.DIALOG_WIDTH,
        ),
        open=ConversionsState.new_key != "",
        on_open_change=ConversionsState.key_dialog_changed,
    )


def api_key_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Ingest API", size="3", as_="h3"),
            rx.text(
                "Send conversions to Routy with this traffic source's API key. Email and phone are hashed on "
                "arrival; re-sending the same id changes nothing. `origin` (optional: web, app, in_store, phone, "
                "other) says where the conversion happened; without it each Google Ads mapping's choice applies.",
                size="2",
                color_scheme="gray",
            ),
            rx.hstack(
                rx.text("Current key: ", size="2"),
                rx.code(ConversionsState.key_description, id="api-key-masked"),
                rx.cond(
                    AuthState.is_admin,
                    rx.button("Create / rotate key", size="1", variant="soft", on_click=ConversionsState.rotate_key),
                ),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            new_key_dialog(),
            _curl("<your API key>"),
            spacing="3",
            width="100%",
            min_width="0",
        ),
        width="100%",
        min_width="0",
    )


def test_form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Record test conversion", size="3", as_="h3"),
            rx.form(
                rx.vstack(
                    rx.hstack(
                        _field("Event type", "event_type", "lead", default_value="lead"),
                        _field("Value", "value", "49.90"),
                        _field("Currency", "currency", "EUR"),
                        _field("Event id (optional)", "id", "generated when empty"),
                        spacing="3",
                        wrap="wrap",
                        width="100%",
                    ),
                    rx.hstack(
                        _field("gclid", "gclid", "Cj0KCQ…"),
                        _field("fbc", "fbc", "fb.1.1554763741205.AbCd…"),
                        _field("GA client id", "ga_client_id", "123456789.1234567890"),
                        _field("Email (hashed on arrival)", "email", "buyer@example.com"),
                        spacing="3",
                        wrap="wrap",
                        width="100%",
                    ),
                    rx.cond(
                        ConversionsState.form_error != "",
                        rx.callout(
                            ConversionsState.form_error,
                            icon="triangle_alert",
                            color_scheme="red",
                            role="alert",
                            id="conversion-form-error",
                            width="100%",
                        ),
                    ),
                    rx.button("Record test conversion", type="submit"),
                    spacing="3",
                    width="100%",
                ),
                on_submit=ConversionsState.record_test,
                reset_on_submit=False,
                width="100%",
            ),
            spacing="3",
            width="100%",
        )
    )


def _row(row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.received_at),
        rx.table.cell(row.external_id),
        rx.table.cell(row.event_type),
        rx.table.cell(row.value),
        rx.table.cell(row.click_ids),
        rx.table.cell(row.identifiers),
        rx.table.cell(row.pushes),
        class_name="conversion-row",
    )


def recent_table() -> rx.Component:
    return rx.vstack(
        rx.heading("Recent conversions", size="3", as_="h3"),
        rx.cond(
            ConversionsState.total > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Received", "Event id", "Type", "Value", "Click ids", "Identifiers", "Pushes")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(ConversionsState.rows, _row)),
                size="1",
                width="100%",
                id="recent-conversions",
            ),
            rx.text("No conversions yet.", size="2", color_scheme="gray"),
        ),
        pager(
            ConversionsState.page,
            ConversionsState.total,
            PAGE_SIZE,
            ConversionsState.go,
            "conversions",
            total_text=ConversionsState.total_text,
        ),
        width="100%",
        spacing="2",
        overflow_x="auto",
    )


def conversions_tab() -> rx.Component:
    return rx.vstack(
        api_key_card(), rx.cond(AuthState.is_admin, test_form()), recent_table(), spacing="4", width="100%"
    )
