"""Settings → Conversion Mappings and Push History tabs."""

from __future__ import annotations

import reflex as rx

from routy_app import styles
from routy_app.components.admin_only import admin_button
from routy_app.components.pager import pager
from routy_app.services.catalog import PUSH_STATUS_COLORS
from routy_app.state.auth import AuthState
from routy_app.state.mappings import ANY_REASON, PUSH_PAGE_SIZE, MappingsState, PushHistoryState


def _mapping_row(row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row.event_type)),
        rx.table.cell(
            row.label,
            rx.cond(row.missing, rx.badge("action no longer exists", color_scheme="red", margin_left="0.5em")),
        ),
        rx.table.cell(
            rx.switch(
                checked=row.enabled,
                on_change=lambda v: MappingsState.toggle(row.id, v),
                disabled=~AuthState.is_admin,
                aria_label="Enabled " + row.event_type,
            )
        ),
        rx.table.cell(
            rx.hstack(
                admin_button(
                    "Test push", hint=False, size="1", variant="soft", on_click=MappingsState.open_test(row.id)
                ),
                admin_button(
                    "Delete",
                    hint=False,
                    size="1",
                    variant="ghost",
                    color_scheme="red",
                    on_click=MappingsState.delete(row.id),
                ),
                spacing="2",
            )
        ),
        class_name="mapping-row",
    )


def _extra_field(field) -> rx.Component:
    """A field the provider's mapping asks for besides the action: a choice (Google's event source, Meta's
    event) or text (the Webhook's value override)."""
    return rx.vstack(
        rx.text(field.label, size="1", weight="medium"),
        rx.cond(
            field.choices.length() > 0,
            rx.select.root(
                rx.select.trigger(placeholder="Choose…", aria_label=field.label, id="map-" + field.name),
                rx.select.content(rx.foreach(field.choices, lambda c: rx.select.item(c.label, value=c.value))),
                value=MappingsState.extra_values.get(field.name, ""),
                on_change=lambda value: MappingsState.set_extra(field.name, value),
            ),
            rx.input(
                value=MappingsState.extra_values.get(field.name, ""),
                on_change=lambda value: MappingsState.set_extra(field.name, value),
                aria_label=field.label,
                id="map-" + field.name,
                title=field.description,
                placeholder="optional",
            ),
        ),
        spacing="1",
    )


def _test_panel() -> rx.Component:
    return rx.cond(
        MappingsState.test_mapping_id != 0,
        rx.card(
            rx.vstack(
                rx.text("Test push", weight="bold", size="2"),
                rx.text("Sends one conversion. ", MappingsState.validation_note, size="1", color_scheme="gray"),
                rx.hstack(
                    rx.select.root(
                        rx.select.trigger(placeholder="Conversion", aria_label="Conversion to test"),
                        rx.select.content(
                            rx.foreach(MappingsState.test_conversions, lambda c: rx.select.item(c.label, value=c.id))
                        ),
                        value=MappingsState.test_conversion,
                        on_change=MappingsState.set_test_conversion,
                    ),
                    rx.button("Send test", on_click=MappingsState.run_test, size="2"),
                    spacing="3",
                    align="center",
                ),
                rx.cond(
                    MappingsState.test_answer != "",
                    rx.vstack(
                        rx.text("Answer", size="1", weight="bold"),
                        rx.code_block(
                            MappingsState.test_answer,
                            language="json",
                            wrap_long_lines=True,
                            width="100%",
                            id="test-push-answer",
                        ),
                        rx.cond(
                            MappingsState.test_payload != "",
                            rx.el.details(
                                rx.el.summary("Exact payload sent"),
                                rx.code_block(
                                    MappingsState.test_payload, language="json", wrap_long_lines=True, width="100%"
                                ),
                            ),
                        ),
                        width="100%",
                    ),
                ),
                width="100%",
                spacing="2",
            ),
            width="100%",
        ),
    )


def mappings_tab() -> rx.Component:
    return rx.vstack(
        rx.text(
            rx.cond(
                MappingsState.action_needed,
                "Only mapped, enabled Routy event types are pushed. Choose the provider action each one goes to.",
                "Only mapped, enabled Routy event types are pushed.",
            ),
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            MappingsState.actions_error != "",
            rx.callout(MappingsState.actions_error, icon="triangle_alert", color_scheme="red", role="alert"),
        ),
        rx.cond(
            MappingsState.rows.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Routy event type", "Provider action", "Enabled", "")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(MappingsState.rows, _mapping_row)),
                size="1",
                width="100%",
                id="mappings",
            ),
            rx.text("No mappings yet: nothing is pushed.", size="2", color_scheme="gray"),
        ),
        rx.form(
            rx.hstack(
                rx.vstack(
                    rx.el.label(rx.text("Routy event type", size="1", weight="medium"), html_for="map-event"),
                    rx.input(name="event_type", id="map-event", placeholder="lead"),
                    spacing="1",
                ),
                rx.cond(
                    MappingsState.action_needed,
                    rx.vstack(
                        rx.text(MappingsState.action_label, size="1", weight="medium"),
                        rx.cond(
                            MappingsState.action_is_text,
                            rx.input(
                                name="action_id",
                                placeholder="generate_lead",
                                aria_label=MappingsState.action_label,
                                list="mapping-suggestions",
                            ),
                            rx.select.root(
                                rx.select.trigger(placeholder="Choose…", aria_label="Provider action"),
                                rx.select.content(
                                    rx.foreach(MappingsState.actions, lambda a: rx.select.item(a.name, value=a.id))
                                ),
                                value=MappingsState.new_action,
                                on_change=MappingsState.set_new_action,
                            ),
                        ),
                        spacing="1",
                    ),
                ),
                rx.foreach(MappingsState.extra_fields, _extra_field),
                admin_button("Add mapping", type="submit"),
                align="end",
                spacing="3",
                wrap="wrap",
            ),
            rx.el.datalist(
                rx.foreach(MappingsState.actions, lambda a: rx.el.option(value=a.id)), id="mapping-suggestions"
            ),
            on_submit=MappingsState.add,
            reset_on_submit=True,
        ),
        rx.cond(
            MappingsState.form_error != "",
            rx.callout(
                MappingsState.form_error, icon="triangle_alert", color_scheme="red", role="alert", id="mapping-error"
            ),
        ),
        _test_panel(),
        spacing="3",
        width="100%",
        padding_top="1em",
    )


def _push_row(row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.time),
        rx.table.cell(row.external_id, rx.text(row.event_type, size="1", color_scheme="gray")),
        rx.table.cell(row.action),
        rx.table.cell(
            rx.badge(
                row.status,
                class_name="push-status",
                color_scheme=rx.match(row.status, *PUSH_STATUS_COLORS.items(), "gray"),
            )
        ),
        rx.table.cell(row.attempts),
        rx.table.cell(
            rx.text(row.detail, size="1", style={"white_space": "pre-wrap", "word_break": "break-word"}),
            max_width="22em",
        ),
        rx.table.cell(row.verdict),
        rx.table.cell(
            rx.cond(
                row.status == "failed",
                admin_button("Retry", hint=False, size="1", variant="soft", on_click=PushHistoryState.retry(row.id)),
            )
        ),
        class_name="push-row",
    )


def push_history_tab() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.select.root(
                rx.select.trigger(aria_label="Filter by status"),
                rx.select.content(
                    *[rx.select.item(s.capitalize(), value=s) for s in ("all", "pending", "sent", "failed", "skipped")]
                ),
                value=PushHistoryState.status_filter,
                on_change=PushHistoryState.set_filter,
            ),
            rx.cond(
                (PushHistoryState.status_filter == "failed") & (PushHistoryState.reasons.length() > 0),
                rx.select.root(
                    rx.select.trigger(aria_label="Filter by failure reason", max_width=styles.TEXT_CELL_WIDTH),
                    rx.select.content(
                        rx.select.item("Any reason", value=ANY_REASON),
                        rx.foreach(PushHistoryState.reasons, lambda r: rx.select.item(r.label, value=r.value)),
                    ),
                    value=PushHistoryState.reason_filter,
                    on_change=PushHistoryState.set_reason_filter,
                ),
            ),
            admin_button(
                "Push now", on_click=PushHistoryState.push_now, loading=PushHistoryState.pushing, variant="soft"
            ),
            rx.cond(
                PushHistoryState.failed_in_view > 0,
                admin_button(
                    "Retry all failed (",
                    PushHistoryState.failed_in_view,
                    ")",
                    on_click=PushHistoryState.retry_all,
                    variant="soft",
                    color_scheme="amber",
                    id="retry-all-failed",
                ),
            ),
            rx.cond(
                PushHistoryState.last_result != "", rx.text(PushHistoryState.last_result, size="2", id="push-result")
            ),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        rx.cond(
            PushHistoryState.total > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in (
                                "Time",
                                "Routy event",
                                "Action",
                                "Status",
                                "Attempts",
                                "Response / error",
                                "Verdict",
                                "",
                            )
                        ]
                    )
                ),
                rx.table.body(rx.foreach(PushHistoryState.rows, _push_row)),
                size="1",
                width="100%",
                id="push-history",
            ),
            rx.text("Nothing pushed yet.", size="2", color_scheme="gray"),
        ),
        pager(
            PushHistoryState.page,
            PushHistoryState.total,
            PUSH_PAGE_SIZE,
            PushHistoryState.go,
            "events",
            total_text=PushHistoryState.total_text,
        ),
        spacing="3",
        width="100%",
        padding_top="1em",
        overflow_x="auto",
    )
