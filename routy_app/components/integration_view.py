"""An integration's page: breadcrumbs, its tabs (the Connection tab: status, account, health, actions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import reflex as rx

from routy_app import routes, styles
from routy_app.components.admin_only import admin_button
from routy_app.components.incidents import incident_list
from routy_app.components.metrics_tab import metrics_tab
from routy_app.components.push_tabs import mappings_tab, push_history_tab
from routy_app.components.sync_tabs import history_tab, sync_tab
from routy_app.state.auth import AuthState
from routy_app.state.connect import ConnectState
from routy_app.state.settings import SettingsState
from routy_app.state.source import SourceState

if TYPE_CHECKING:
    from reflex.vars import ObjectVar

    from routy_app.services.catalog import ConnectionDetails

# Class access gives the Var; mypy sees the declared value type, so it is cast to the Var Reflex builds.
D = cast("ObjectVar[ConnectionDetails]", SettingsState.details)


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


def last_error() -> rx.Component:
    """The last error in one line; the provider's words (each once) behind Details."""
    return rx.box(
        rx.text(D.error_summary, color_scheme="red", id="last-error-summary"),
        rx.el.details(
            rx.el.summary(rx.text("Details", as_="span", size="1"), cursor="pointer"),
            rx.foreach(
                D.error_details,
                lambda d: rx.text(d, size="1", color_scheme="gray", style={"overflow_wrap": "anywhere"}),
            ),
            id="last-error-details",
        ),
        min_width="0",
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
            _row("Account", rx.text(D.account_label)),
            _row("Currency · time zone", rx.text(D.account_currency, " · ", D.account_timezone)),
            _row("Last successful sync", D.last_success),
            _row("Consecutive failures", D.failures_text),
            _row("Last error", rx.cond(D.error_summary != "", last_error(), "none")),
            _row("Access token", D.token_expires),
            _row("Connected since", D.connected_since),
            size="2",
        ),
        rx.hstack(
            admin_button(
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
                admin_button("Pause", on_click=SettingsState.set_paused(True), variant="soft", color_scheme="gray"),
            ),
            rx.cond(
                D.can_resume,
                admin_button("Resume", on_click=SettingsState.set_paused(False), variant="soft", color_scheme="green"),
            ),
            rx.cond(
                D.auth == "oauth",
                admin_button(
                    D.reconnect_label,
                    on_click=ConnectState.reconnect(D.provider, D.integration_id),
                    variant="soft",
                    color_scheme=D.reconnect_color,
                ),
            ),
            rx.spacer(),
            admin_button("Disconnect", on_click=SettingsState.ask_disconnect, color_scheme="red", variant="outline"),
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


def _tabs() -> rx.Component:
    return rx.tabs.root(
        rx.tabs.list(
            *[rx.tabs.trigger(label, value=value) for value, label in routes.INTEGRATION_TABS.items()],
            # Six tabs do not fit a phone: they scroll, instead of widening the page.
            overflow_x="auto",
            overflow_y="hidden",
            max_width="100%",
        ),
        rx.tabs.content(connection_tab(), value="connection"),
        rx.tabs.content(sync_tab(), value="sync"),
        rx.tabs.content(history_tab(), value="history"),
        rx.tabs.content(mappings_tab(), value="mappings"),
        rx.tabs.content(push_history_tab(), value="push"),
        rx.tabs.content(metrics_tab(), value="metrics"),
        value=SettingsState.tab,
        on_change=SettingsState.go_tab,  # each tab is a URL: the page loads the tab's data (routy_app.py)
        activation_mode="manual",  # arrow keys move the focus; Enter or a click opens (one navigation)
        width="100%",
        min_width="0",
    )


def breadcrumbs() -> rx.Component:
    return rx.el.nav(
        rx.hstack(
            rx.link(SourceState.source_name, href=SettingsState.source_href, size="2", id="crumb-source"),
            rx.text("›", size="2", color_scheme="gray"),
            rx.text(D.provider_name, size="2", color_scheme="gray"),
            align="center",
            spacing="2",
            wrap="wrap",
        ),
        aria_label="Breadcrumbs",
    )


def integration_view() -> rx.Component:
    """An integration's page: breadcrumbs back to its traffic source, its name and status, its tabs
    (the whole page width: Metrics needs it)."""
    return rx.fragment(
        rx.cond(
            SettingsState.not_found,
            rx.callout(
                "This integration does not exist (it may have been disconnected).",
                icon="triangle_alert",
                color_scheme="red",
                role="alert",
            ),
            rx.cond(
                D,
                rx.el.section(
                    rx.vstack(
                        breadcrumbs(),
                        rx.hstack(
                            rx.heading(D.provider_name, " settings", size="6", as_="h1"),
                            rx.badge(D.status_label, color_scheme=D.status_color, variant="soft", size="2"),
                            rx.spacer(),
                            rx.link(
                                rx.hstack(
                                    rx.icon("arrow_left", size=14),
                                    rx.text("Back to ", SourceState.source_name),
                                    align="center",
                                    spacing="1",
                                ),
                                href=SettingsState.source_href,
                                size="2",
                                id="back-to-source",
                            ),
                            align="center",
                            spacing="3",
                            wrap="wrap",
                            width="100%",
                        ),
                        rx.text("Manage how this traffic source syncs with ", D.provider_name, ".", size="2"),
                        _tabs(),
                        spacing="3",
                        width="100%",
                        min_width="0",
                    ),
                    aria_label=D.provider_name + " settings",
                    id="integration-page",
                    style={"min_width": "0"},
                ),
            ),
        ),
        confirm_disconnect(),
    )
