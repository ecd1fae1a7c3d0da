"""One provider card: logo, name, description, status badge and its main button."""

from __future__ import annotations

import reflex as rx

from routy_app import styles
from routy_app.state.connect import ConnectState
from routy_app.state.settings import SettingsState


def status_badge(card) -> rx.Component:
    return rx.badge(
        card.status_label, color_scheme=card.status_color, variant="soft", size="2", class_name="status-badge"
    )


def card_actions(card) -> rx.Component:
    """The status's main button (catalog.STATUS_DISPLAY says what it does); cards that still need the user
    also keep a way into Settings (to disconnect, or to see history) next to it."""
    settings = rx.cond(
        (card.action == "select_account") | (card.action == "reconnect"),
        rx.button(
            "Settings",
            on_click=SettingsState.open_for(card.integration_id),
            variant="ghost",
            aria_label="Settings " + card.name,
        ),
    )
    main = rx.button(
        card.action_label,
        on_click=rx.cond(
            card.action == "settings",
            SettingsState.open_for(card.integration_id),
            ConnectState.card_action(card.key, card.status, card.integration_id),
        ),
        loading=ConnectState.redirecting == card.key,
        color_scheme=card.action_color,
        variant=rx.cond(card.action == "connect", "solid", "soft"),
        aria_label=card.action_label + " " + card.name,
    )
    return rx.hstack(settings, main, spacing="2")


def provider_card(card) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.image(
                    src=card.logo,
                    width=styles.PROVIDER_LOGO_SIZE,
                    height=styles.PROVIDER_LOGO_SIZE,
                    alt=card.name + " logo",
                ),
                rx.heading(card.name, size="4", as_="h3"),
                align="center",
                spacing="3",
            ),
            rx.text(card.description, size="2", color_scheme="gray"),
            rx.cond(card.account_label != "", rx.text("Account: ", card.account_label, size="2")),
            rx.cond(
                card.notice != "",
                rx.callout(
                    card.notice,
                    size="1",
                    role="alert",
                    class_name="card-notice",
                    color_scheme=card.notice_color,
                ),
            ),
            rx.hstack(status_badge(card), rx.spacer(), card_actions(card), align="center", width="100%"),
            spacing="3",
            height="100%",
            justify="between",
        ),
        class_name="provider-card",
        data_provider=card.key,
        size="2",
    )
