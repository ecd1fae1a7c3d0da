"""One provider card: logo, name, description, status badge and its main button."""

from __future__ import annotations

import reflex as rx


def status_badge(card) -> rx.Component:
    return rx.badge(
        card.status_label, color_scheme=card.status_color, variant="soft", size="2", class_name="status-badge"
    )


def provider_card(card, action: rx.Component) -> rx.Component:
    """`action` is the button (its behaviour belongs to the connect feature's state)."""
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.image(src=card.logo, width="40px", height="40px", alt=card.name + " logo"),
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
                    color_scheme=rx.cond(card.status == "pending_account", "amber", "red"),
                ),
            ),
            rx.hstack(status_badge(card), rx.spacer(), action, align="center", width="100%"),
            spacing="3",
            height="100%",
            justify="between",
        ),
        class_name="provider-card",
        data_provider=card.key,
        size="2",
    )
