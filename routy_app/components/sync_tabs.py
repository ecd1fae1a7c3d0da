"""Settings → Sync and Sync History tabs."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import reflex as rx

from routy_app import styles
from routy_app.components.admin_only import admin_button
from routy_app.components.pager import pager
from routy_app.services.integrations.sync_settings import DIRECTION_LABELS, SCHEDULES
from routy_app.state.sync import HISTORY_PAGE_SIZE, SyncState

if TYPE_CHECKING:
    from reflex.event import EventCallback

# mypy cannot solve rx.event(background=True)'s parameters (a TypeVarTuple through a decorator factory) and
# calls the handler not callable; its one parameter is the trigger.
_sync_now = cast("EventCallback[str]", SyncState.sync_now)


def _error(field: str) -> rx.Component:
    message = SyncState.field_errors.get(field, "")
    return rx.cond(message != "", rx.text(message, color_scheme="red", size="1", role="alert", id=f"{field}-error"))


def _number(label: str, name: str, value, hint: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=f"sync-{name}"),
        rx.input(
            name=name, id=f"sync-{name}", default_value=value, key=value, type="number", width=styles.NUMBER_INPUT_WIDTH
        ),
        rx.cond(SyncState.field_errors.get(name, "") != "", _error(name), rx.text(hint, size="1", color_scheme="gray")),
        spacing="1",
    )


def sync_tab() -> rx.Component:
    direction_items = rx.foreach(
        SyncState.directions,
        lambda d: rx.select.item(rx.match(d, *[(k.value, v) for k, v in DIRECTION_LABELS.items()], d), value=d),
    )
    form = rx.form(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.text("Direction", size="2", weight="medium"),
                    rx.select.root(
                        rx.select.trigger(aria_label="Direction", min_width=styles.WIDE_SELECT_WIDTH, max_width="100%"),
                        rx.select.content(direction_items),
                        name="direction",
                        value=SyncState.direction,
                        on_change=SyncState.set_direction,
                    ),
                    _error("direction"),
                    spacing="1",
                ),
                rx.vstack(
                    rx.text("Schedule", size="2", weight="medium"),
                    rx.select.root(
                        rx.select.trigger(aria_label="Schedule", width=styles.SELECT_WIDTH),
                        rx.select.content(*[rx.select.item(label, value=str(m)) for m, label in SCHEDULES]),
                        name="schedule_minutes",
                        value=SyncState.schedule_minutes,
                        on_change=SyncState.set_schedule,
                    ),
                    _error("schedule_minutes"),
                    spacing="1",
                ),
                spacing="5",
                wrap="wrap",
            ),
            rx.hstack(
                _number(
                    "Lookback days",
                    "lookback_days",
                    SyncState.lookback_days,
                    "Recent days re-pulled each run (providers restate them).",
                ),
                _number(
                    "History window (days)",
                    "history_days",
                    SyncState.history_days,
                    "How far back the first sync and Force Full Sync go.",
                ),
                spacing="5",
                wrap="wrap",
            ),
            admin_button("Save sync settings", type="submit", variant="soft"),
            spacing="3",
        ),
        on_submit=SyncState.save,
        reset_on_submit=False,
    )
    return rx.vstack(
        # Until this integration's values are loaded the form would show defaults (and lose what is typed).
        rx.cond(SyncState.loaded, form, rx.hstack(rx.spinner(), rx.text("Loading…", size="2"), id="sync-loading")),
        rx.separator(size="4"),
        rx.hstack(
            admin_button("Sync Now", on_click=_sync_now("manual"), loading=SyncState.running),
            admin_button(
                "Force Full Sync",
                on_click=SyncState.set_confirm_full_open(True),
                variant="outline",
                disabled=SyncState.running,
            ),
            spacing="3",
        ),
        rx.cond(
            SyncState.running | SyncState.other_running,
            rx.vstack(
                rx.progress(value=SyncState.progress_percent, max=100, width="100%", aria_label="Sync progress"),
                rx.text(SyncState.progress_text, size="2", id="sync-progress"),
                width="100%",
                spacing="1",
            ),
        ),
        rx.cond(
            SyncState.last_result != "",
            rx.callout(
                SyncState.last_result,
                id="sync-result",
                role="status",
                width="100%",
                color_scheme=rx.cond(SyncState.last_result_ok, "green", "red"),
                icon=rx.cond(SyncState.last_result_ok, "circle_check", "circle_x"),
            ),
        ),
        rx.alert_dialog.root(
            rx.alert_dialog.content(
                rx.alert_dialog.title("Force a full sync?"),
                rx.alert_dialog.description(
                    "Routy re-pulls the whole history window (",
                    SyncState.history_days,
                    " days) at every level and removes rows the provider no longer reports in that window. "
                    "Large accounts can take several minutes.",
                    size="2",
                ),
                rx.hstack(
                    rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                    rx.button("Re-pull everything", on_click=_sync_now("full")),
                    justify="end",
                    spacing="3",
                    padding_top="1em",
                ),
            ),
            open=SyncState.confirm_full_open,
            on_open_change=SyncState.set_confirm_full_open,
        ),
        spacing="4",
        width="100%",
        padding_top="1em",
    )


def _history_row(run) -> rx.Component:
    return rx.table.row(
        rx.table.cell(run.started, white_space="nowrap"),
        rx.table.cell(run.duration),
        rx.table.cell(run.kind, " · ", run.trigger),
        rx.table.cell(rx.badge(run.status, color_scheme=run.status_color, class_name="run-status")),
        rx.table.cell(run.read_text),
        rx.table.cell(run.inserted_text),
        rx.table.cell(run.updated_text),
        rx.table.cell(run.failed_text),
        rx.table.cell(
            rx.cond(
                run.error != "",
                rx.vstack(
                    rx.cond(
                        run.status != "interrupted",
                        rx.text(run.error_summary, size="1", color_scheme="red", class_name="run-error-summary"),
                    ),
                    rx.el.details(
                        rx.el.summary(rx.cond(run.status == "interrupted", "Why", "Details")),
                        rx.text(
                            run.error,
                            size="1",
                            color_scheme="red",
                            style={"white_space": "pre-wrap", "overflow_wrap": "anywhere"},
                        ),
                    ),
                    spacing="1",
                    max_width=styles.TEXT_CELL_WIDTH,
                    min_width=styles.TEXT_CELL_MIN_WIDTH,
                ),
                "",
            )
        ),
        class_name="history-row",
    )


def history_tab() -> rx.Component:
    return rx.vstack(
        rx.cond(
            SyncState.history_total > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in (
                                "Started",
                                "Duration",
                                "Type",
                                "Status",
                                "Read",
                                "Inserted",
                                "Updated",
                                "Failed",
                                "Details",
                            )
                        ]
                    )
                ),
                rx.table.body(rx.foreach(SyncState.history_rows, _history_row)),
                size="1",
                width="100%",
                id="sync-history",
            ),
            rx.text("No sync has run yet.", size="2", color_scheme="gray"),
        ),
        pager(
            SyncState.history_page,
            SyncState.history_total,
            HISTORY_PAGE_SIZE,
            SyncState.history_go,
            "runs",
            total_text=SyncState.history_total_text,
        ),
        width="100%",
        padding_top="1em",
        overflow_x="auto",
    )
