"""A traffic source's page: tabs Integrations (provider cards) and Conversions."""

from __future__ import annotations

import reflex as rx

from routy_app.components.account_picker import account_picker
from routy_app.components.conversions_tab import conversions_tab
from routy_app.components.layout import shell
from routy_app.components.notices import focus_returner, provider_redirect, query_cleaner
from routy_app.components.provider_card import provider_card
from routy_app.components.setup_form import setup_form
from routy_app.state.auth import AuthState
from routy_app.state.conversions import ConversionsState
from routy_app.state.source import SourceState


def integrations_tab() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Connect this traffic source to ad networks and analytics tools: Routy pulls campaign metrics "
            "and pushes your conversions back so each provider optimises on real results.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            SourceState.flash_error != "",
            rx.callout(
                SourceState.flash_error,
                icon="triangle_alert",
                color_scheme="red",
                role="alert",
                id="flash-error",
                width="100%",
            ),
        ),
        rx.grid(
            rx.foreach(SourceState.cards, provider_card),
            columns=rx.breakpoints(initial="1", sm="2", lg="3"),
            spacing="4",
            width="100%",
            id="provider-cards",
        ),
        provider_redirect(),
        focus_returner(),
        query_cleaner(),
        spacing="4",
        width="100%",
    )


def source_page() -> rx.Component:
    return shell(
        rx.cond(
            SourceState.not_found,
            rx.callout("This traffic source does not exist.", icon="triangle_alert", color_scheme="red"),
            rx.vstack(
                rx.hstack(
                    rx.heading(SourceState.source_name, size="6", as_="h1"),
                    rx.cond(
                        AuthState.is_admin,
                        rx.icon_button(
                            rx.icon("pencil", size=14),
                            variant="ghost",
                            size="1",
                            aria_label="Rename traffic source",
                            on_click=SourceState.open_source_dialog("rename"),
                        ),
                    ),
                    align="center",
                    spacing="2",
                ),
                rx.tabs.root(
                    rx.tabs.list(
                        rx.tabs.trigger("Integrations", value="integrations"),
                        rx.tabs.trigger("Conversions", value="conversions"),
                    ),
                    rx.tabs.content(rx.box(integrations_tab(), padding_top="1em"), value="integrations"),
                    rx.tabs.content(rx.box(conversions_tab(), padding_top="1em"), value="conversions"),
                    default_value="integrations",
                    on_change=ConversionsState.tab_changed,
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
        ),
        account_picker(),
        setup_form(),
    )
