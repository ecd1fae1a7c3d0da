"""The Notifications page: incidents, alert channels, what alerts per traffic source, delivery problems."""

from __future__ import annotations

import reflex as rx

from routy_app.components.alert_channels import add_channel_menu, channel_card, channel_dialog, confirm_delete
from routy_app.components.alert_rules import alert_rules
from routy_app.components.incidents import incident_list
from routy_app.components.layout import shell
from routy_app.state.auth import AuthState
from routy_app.state.notifications import NotificationsState as N


def _section(title: str, *extra: rx.Component, section_id: str) -> rx.Component:
    return rx.hstack(
        rx.heading(title, size="4", as_="h2", id=section_id),
        rx.spacer(),
        *extra,
        align="center",
        width="100%",
        wrap="wrap",
        spacing="3",
        padding_top="0.75em",
    )


def _problem(row) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.badge(row.status, color_scheme=row.color),
                rx.text(row.channel, weight="bold", size="2"),
                rx.text("· ", row.event, " · ", row.created, size="1", color_scheme="gray"),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.text(row.incident, size="2"),
            rx.text(row.error, size="1", color_scheme="red", style={"word_break": "break-word"}),
            rx.hstack(
                rx.text("Attempts: ", row.attempts, size="1", color_scheme="gray"),
                rx.cond(row.next_attempt != "", rx.text("Next try: ", row.next_attempt, size="1", color_scheme="gray")),
                rx.spacer(),
                rx.cond(
                    AuthState.is_admin & (row.status == "failed"),
                    rx.button("Retry", size="1", variant="soft", on_click=N.retry_delivery(row.id)),
                ),
                align="center",
                width="100%",
                spacing="3",
            ),
            spacing="1",
            width="100%",
        ),
        width="100%",
        class_name="delivery-problem",
    )


def notifications_page() -> rx.Component:
    return shell(
        rx.vstack(
            rx.hstack(
                rx.heading("Notifications", size="6", as_="h1"),
                rx.spacer(),
                rx.button(
                    rx.icon("refresh-cw", size=14),
                    "Refresh",
                    on_click=N.refresh,
                    variant="soft",
                    color_scheme="gray",
                    size="1",
                ),
                align="center",
                width="100%",
            ),
            rx.text(
                "Routy alerts by email, Slack or webhook when a connection breaks or is about to: one message "
                "when a problem starts, a reminder each day it lasts, one when it clears.",
                size="2",
                color_scheme="gray",
            ),
            rx.cond(
                ~AuthState.is_admin,
                rx.callout(
                    "You can see alerts; only admins change channels and rules.", icon="info", size="1", width="100%"
                ),
            ),
            _section(
                "Incidents",
                rx.el.label(
                    rx.hstack(
                        rx.switch(checked=N.show_resolved, on_change=N.set_show_resolved, size="1"),
                        rx.text("Show resolved", size="2"),
                        align="center",
                        spacing="2",
                    )
                ),
                section_id="incidents-heading",
            ),
            incident_list(
                N.incidents,
                rx.cond(N.show_resolved, "No incidents yet.", "No open incidents: everything Routy watches is fine."),
            ),
            _section("Channels", rx.cond(AuthState.is_admin, add_channel_menu()), section_id="channels-heading"),
            rx.cond(
                N.channels.length() > 0,
                rx.grid(
                    rx.foreach(N.channels, channel_card),
                    columns=rx.breakpoints(initial="1", md="2", xl="3"),
                    spacing="3",
                    width="100%",
                    id="channels",
                ),
                rx.text(
                    "No channels yet: incidents are listed here but nobody is told. Add an email, Slack or "
                    "webhook channel.",
                    size="2",
                    color_scheme="gray",
                    id="channels-empty",
                ),
            ),
            _section("What alerts", section_id="rules-heading"),
            alert_rules(),
            _section("Delivery problems", section_id="problems-heading"),
            rx.cond(
                N.problems.length() > 0,
                rx.vstack(rx.foreach(N.problems, _problem), spacing="2", width="100%", id="delivery-problems"),
                rx.text(
                    "None: every alert was delivered.", size="2", color_scheme="gray", id="delivery-problems-empty"
                ),
            ),
            spacing="3",
            width="100%",
            max_width="1100px",
        ),
        channel_dialog(),
        confirm_delete(),
    )
