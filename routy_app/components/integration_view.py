"""The Settings dialog of a connected integration (Connection tab: status, account, health, actions)."""

from __future__ import annotations

import reflex as rx

from routy_app import styles
from routy_app.components.incidents import incident_list
from routy_app.components.metrics_tab import metrics_tab
from routy_app.components.push_tabs import mappings_tab, push_history_tab
from routy_app.components.sync_tabs import history_tab, sync_tab
from routy_app.state.auth import AuthState
from routy_app.state.connect import ConnectState
from routy_app.state.mappings import MappingsState, PushHistoryState
from routy_app.state.metrics import MetricsState
from routy_app.state.settings import SettingsState
from routy_app.state.sync import SyncState

D = SettingsState.details


def _row(label: str, value) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value))


def _version_row(row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.api),
        rx.table.cell(
            rx.code(row.version), rx.cond(row.setting != "", rx.text(row.setting, size="1", color_scheme="gray"))
        ),
        rx.table.cell(rx.badge(row.status_label, color_scheme=row.color, class_name="version-status")),
        rx.table.cell(row.sunset),
        class_name="version-row",
    )


def versions_table() -> rx.Component:
    """The API versions this integration talks to, with their sunset dates (providers/versions.py)."""
    return rx.vstack(
        rx.text("API versions", weight="bold", size="2"),
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(*[rx.table.column_header_cell(h) for h in ("API", "Version", "Status", "Sunset")])
                ),
                rx.table.body(rx.foreach(SettingsState.versions, _version_row)),
                size="1",
                width="100%",
                id="api-versions",
            ),
            width="100%",
            overflow_x="auto",
        ),
        width="100%",
        spacing="1",
    )


def _check_row(row) -> rx.Component:
    return rx.hstack(
        rx.badge(row.label, color_scheme=row.color, min_width="5.5em", justify="center", class_name="check-status"),
        rx.vstack(
            rx.text(row.name, weight="medium", size="2"),
            rx.text(row.message, size="1", style={"word_break": "break-word"}),
            rx.cond(row.fix != "", rx.text("→ ", row.fix, size="1", color_scheme=row.color)),
            spacing="0",
            width="100%",
        ),
        align="start",
        spacing="3",
        width="100%",
        class_name="setup-check",
    )


def setup_checks() -> rx.Component:
    return rx.cond(
        SettingsState.setup_summary != "",
        rx.card(
            rx.vstack(
                rx.callout(
                    SettingsState.setup_summary,
                    role="status",
                    width="100%",
                    id="setup-summary",
                    icon=rx.cond(SettingsState.setup_ok, "circle_check", "circle_x"),
                    color_scheme=rx.cond(SettingsState.setup_ok, "green", "red"),
                ),
                rx.foreach(SettingsState.setup_checks, _check_row),
                spacing="2",
                width="100%",
            ),
            width="100%",
            id="setup-checks",
        ),
    )


def connection_tab() -> rx.Component:
    return rx.vstack(
        rx.cond(
            D.notice != "",
            rx.callout(
                D.notice,
                icon="triangle_alert",
                color_scheme=D.notice_color,
                role="alert",
                width="100%",
            ),
        ),
        rx.cond(
            SettingsState.version_notice != "",
            rx.callout(
                SettingsState.version_notice,
                icon="calendar_clock",
                id="version-notice",
                color_scheme=SettingsState.version_notice_color,
                role="note",
                width="100%",
            ),
        ),
        rx.data_list.root(
            _row("Status", rx.badge(D.status_label, color_scheme=D.status_color, class_name="status-badge")),
            _row("Account", rx.text(D.account_name, " (", D.account_id, ")")),
            _row("Currency · time zone", rx.text(D.account_currency, " · ", D.account_timezone)),
            _row("Last successful sync", D.last_success),
            _row("Consecutive failures", D.consecutive_failures),
            _row("Last error", rx.cond(D.last_error != "", rx.text(D.last_error, color_scheme="red"), "none")),
            _row("Access token", rx.text("expires ", D.token_expires)),
            _row("Connected since", D.connected_since),
            size="2",
        ),
        rx.hstack(
            rx.button(
                "Test Connection", on_click=SettingsState.test_connection, loading=SettingsState.testing, variant="soft"
            ),
            rx.cond(
                AuthState.is_admin,
                rx.button(
                    "Check set-up",
                    on_click=SettingsState.check_setup,
                    loading=SettingsState.checking,
                    variant="soft",
                    color_scheme="teal",
                ),
            ),
            rx.cond(
                D.can_pause,
                rx.button("Pause", on_click=SettingsState.set_paused(True), variant="soft", color_scheme="gray"),
            ),
            rx.cond(
                D.can_resume,
                rx.button("Resume", on_click=SettingsState.set_paused(False), variant="soft", color_scheme="green"),
            ),
            rx.cond(
                D.auth == "oauth",
                rx.button(
                    D.reconnect_label,
                    on_click=ConnectState.reconnect(D.provider, D.integration_id),
                    variant="soft",
                    color_scheme=D.reconnect_color,
                ),
            ),
            rx.spacer(),
            rx.button("Disconnect", on_click=SettingsState.ask_disconnect, color_scheme="red", variant="outline"),
            wrap="wrap",
            spacing="2",
            width="100%",
        ),
        rx.cond(
            SettingsState.test_message != "",
            rx.callout(
                SettingsState.test_message,
                id="test-result",
                role="status",
                width="100%",
                icon=rx.cond(SettingsState.test_ok, "circle_check", "circle_x"),
                color_scheme=rx.cond(SettingsState.test_ok, "green", "red"),
            ),
        ),
        setup_checks(),
        rx.vstack(
            rx.hstack(
                rx.text("Incidents", weight="bold", size="2"),
                rx.spacer(),
                rx.link("Alerts and channels", href="/notifications", size="1"),
                width="100%",
            ),
            incident_list(
                SettingsState.incidents,
                "No incidents: no alert has fired for this integration.",
                show_source=False,
                list_id="connection-incidents",
            ),
            width="100%",
            spacing="1",
        ),
        versions_table(),
        rx.cond(
            SettingsState.activity.length() > 0,
            rx.vstack(
                rx.text("Activity", weight="bold", size="2"),
                rx.table.root(
                    rx.table.body(
                        rx.foreach(
                            SettingsState.activity,
                            lambda a: rx.table.row(
                                rx.table.cell(a.when),
                                rx.table.cell(a.who),
                                rx.table.cell(a.action),
                                rx.table.cell(
                                    a.detail,
                                    max_width=styles.TEXT_CELL_WIDTH,
                                    overflow="hidden",
                                    text_overflow="ellipsis",
                                ),
                            ),
                        )
                    ),
                    size="1",
                    width="100%",
                    id="activity-log",
                ),
                width="100%",
                spacing="1",
            ),
        ),
        spacing="4",
        width="100%",
        padding_top="1em",
    )


def confirm_disconnect() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Disconnect ", D.provider_name, "?"),
            rx.alert_dialog.description(SettingsState.removal_text, size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Keep it", variant="soft", color_scheme="gray")),
                rx.button(
                    "Disconnect and delete",
                    color_scheme="red",
                    on_click=SettingsState.disconnect,
                    loading=SettingsState.busy,
                ),
                justify="end",
                spacing="3",
                padding_top="1em",
            ),
        ),
        open=SettingsState.confirm_open,
        on_open_change=SettingsState.set_confirm_open,
    )


def settings_dialog() -> rx.Component:
    return rx.fragment(
        rx.dialog.root(
            rx.dialog.content(
                rx.cond(
                    D,
                    rx.vstack(
                        rx.dialog.title(D.provider_name, " settings"),
                        rx.dialog.description(
                            "Manage how this traffic source syncs with ", D.provider_name, ".", size="2"
                        ),
                        rx.tabs.root(
                            rx.tabs.list(
                                rx.tabs.trigger("Connection", value="connection"),
                                rx.tabs.trigger("Sync", value="sync"),
                                rx.tabs.trigger("Sync History", value="history"),
                                rx.tabs.trigger("Conversion Mappings", value="mappings"),
                                rx.tabs.trigger("Push History", value="push"),
                                rx.tabs.trigger("Metrics", value="metrics"),
                                # Six tabs do not fit a phone: they scroll, instead of widening the dialog's content.
                                overflow_x="auto",
                                max_width="100%",
                            ),
                            rx.tabs.content(connection_tab(), value="connection"),
                            rx.tabs.content(sync_tab(), value="sync"),
                            rx.tabs.content(history_tab(), value="history"),
                            rx.tabs.content(mappings_tab(), value="mappings"),
                            rx.tabs.content(push_history_tab(), value="push"),
                            rx.tabs.content(metrics_tab(), value="metrics"),
                            value=SettingsState.tab,
                            on_change=[
                                SettingsState.set_tab,
                                SyncState.on_tab,
                                MappingsState.on_tab,
                                PushHistoryState.on_tab,
                                MetricsState.on_tab,
                            ],
                            width="100%",
                            min_width="0",
                        ),
                        rx.hstack(
                            rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                            justify="end",
                            width="100%",
                        ),
                        spacing="3",
                        min_width="0",
                    ),
                ),
                max_width="min(960px, calc(100vw - 1rem))",  # on a phone: the screen, not its widest table
            ),
            open=SettingsState.open,
            on_open_change=SettingsState.set_open,
        ),
        confirm_disconnect(),
    )
