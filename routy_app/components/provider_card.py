"""One provider card, always the same shape: logo and name, description, account, the status badge with
one status line, the error in one line (the provider's words behind Details), then the actions row whose
main button is never clipped. Everything else is in Settings."""

from __future__ import annotations

import reflex as rx

from routy_app import styles
from routy_app.components.admin_only import admin_only
from routy_app.state.auth import AuthState
from routy_app.state.connect import ConnectState
from routy_app.state.source import SourceState


def status_badge(card) -> rx.Component:
    return rx.badge(
        card.status_label, color_scheme=card.status_color, variant="soft", size="2", class_name="status-badge"
    )


def _settings_link(card, variant: str, color: str) -> rx.Component:
    """Settings: a link to the integration's page (a URL to share, open in a tab, come back to)."""
    return rx.button(
        rx.link(
            "Settings",
            href=card.settings_href,
            underline="none",
            aria_label="Settings " + card.name,
            custom_attrs={
                "data-focus-return": rx.cond(card.integration_id == SourceState.focus_integration, "true", "false")
            },
        ),
        as_child=True,
        variant=variant,
        color_scheme=color,
        class_name="card-settings",
        white_space="nowrap",
    )


def card_actions(card) -> rx.Component:
    """The status's main button (catalog.STATUS_DISPLAY says what it does); cards that still need the user
    also keep a way into Settings (to disconnect, or to see history) next to it."""
    settings = rx.cond(
        (card.action == "select_account") | (card.action == "reconnect"),
        _settings_link(card, "outline", "gray"),
    )
    changes = card.action != "settings"  # Connect, Select account, Reconnect change things: admins only
    main = rx.button(
        card.action_label,
        on_click=ConnectState.card_action(card.key, card.status, card.integration_id),
        loading=ConnectState.redirecting == card.key,
        color_scheme=card.action_color,
        variant=rx.cond(card.action == "connect", "solid", "soft"),
        aria_label=card.action_label + " " + card.name,
        disabled=changes & ~AuthState.is_admin,
        class_name="card-action",
        flex_shrink="0",
        white_space="nowrap",
    )
    return rx.flex(
        rx.cond(changes, admin_only(main), _settings_link(card, "soft", "indigo")),
        settings,
        spacing="2",
        wrap="wrap",
        align="center",
        width="100%",
    )


def card_error(card) -> rx.Component:
    """The last error once, in one line; each distinct provider text behind Details."""
    return rx.cond(
        card.error_summary != "",
        rx.box(
            rx.text(card.error_summary, size="1", color_scheme="red", class_name="card-error-summary"),
            rx.cond(
                card.error_details.length() > 0,
                rx.el.details(
                    rx.el.summary(rx.text("Details", as_="span", size="1"), cursor="pointer"),
                    rx.foreach(
                        card.error_details,
                        lambda d: rx.text(d, size="1", color_scheme="gray", style={"overflow_wrap": "anywhere"}),
                    ),
                    class_name="card-error-details",
                ),
            ),
            class_name="card-error",
            width="100%",
        ),
    )


def provider_card(card) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.hstack(
                rx.image(
                    src=card.logo,
                    width=styles.PROVIDER_LOGO_SIZE,
                    height=styles.PROVIDER_LOGO_SIZE,
                    alt=card.name + " logo",
                    flex_shrink="0",
                ),
                rx.heading(card.name, size="4", as_="h3"),
                align="center",
                spacing="3",
            ),
            rx.text(card.description, size="2", color_scheme="gray"),
            rx.text(
                rx.cond(card.account_label != "", "Account: " + card.account_label, "No account linked"),
                size="2",
                color_scheme=rx.cond(card.account_label != "", None, "gray"),
                class_name="card-account",
                style={"overflow_wrap": "anywhere"},
            ),
            rx.vstack(
                rx.hstack(
                    status_badge(card),
                    rx.cond(card.syncing, rx.spinner(size="1")),
                    align="center",
                    spacing="2",
                    wrap="wrap",
                ),
                rx.text(card.status_line, size="1", color_scheme="gray", class_name="status-line"),
                spacing="1",
                width="100%",
            ),
            rx.cond(
                card.notice != "",
                rx.callout(
                    card.notice,
                    size="1",
                    role="alert",
                    class_name="card-notice",
                    color_scheme=card.notice_color,
                    width="100%",
                ),
            ),
            card_error(card),
            rx.spacer(),  # the actions row sits at the bottom of every card of the row
            card_actions(card),
            direction="column",
            spacing="3",
            height="100%",
        ),
        class_name="provider-card",
        data_provider=card.key,
        size="2",
        height="100%",
        min_width="0",
    )
