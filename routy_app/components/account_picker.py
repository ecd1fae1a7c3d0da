"""The dialog that follows OAuth: pick the ad account to link (Google managers show their clients)."""

from __future__ import annotations

import reflex as rx

from routy_app import styles
from routy_app.state.connect import ConnectState


def _account_row(account) -> rx.Component:
    label = rx.hstack(
        rx.vstack(
            rx.text(account.name, weight="medium", size="2"),
            rx.text(account.id, " · ", account.currency, " · ", account.timezone, size="1", color_scheme="gray"),
            spacing="0",
        ),
        rx.cond(account.manager, rx.badge("Manager", color_scheme="violet", variant="soft")),
        align="center",
        spacing="3",
    )
    return rx.cond(
        account.selectable,
        rx.radio_group.item(
            label, value=account.id, aria_label=account.name, padding_left=rx.cond(account.child, "1.5em", "0")
        ),
        rx.box(
            label,
            padding_y="0.25em",
            class_name="manager-row",
            title="Manager accounts hold no campaigns: pick one of its clients",
        ),
    )


def account_picker() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Select the ad account to link"),
            rx.dialog.description(
                "Routy is authorised with ",
                ConnectState.picker_provider_name,
                ". Choose which account this traffic source pulls metrics from and pushes conversions to.",
                size="2",
            ),
            rx.box(
                rx.cond(
                    ConnectState.picker_loading,
                    rx.hstack(rx.spinner(), rx.text("Loading accounts…", size="2"), padding_y="1em"),
                    rx.cond(
                        ConnectState.accounts.length() > 0,
                        rx.radio_group.root(
                            rx.vstack(rx.foreach(ConnectState.accounts, _account_row), spacing="2"),
                            value=ConnectState.selected_account,
                            on_change=ConnectState.choose_account,
                            id="account-choices",
                        ),
                        rx.cond(
                            ConnectState.picker_error == "",
                            rx.text("No ad accounts are reachable with this authorisation.", size="2"),
                        ),
                    ),
                ),
                max_height="50vh",
                overflow_y="auto",
                padding_y="1em",
            ),
            rx.cond(
                ConnectState.picker_error != "",
                rx.callout(ConnectState.picker_error, icon="triangle_alert", color_scheme="red", role="alert"),
            ),
            rx.hstack(
                rx.dialog.close(rx.button("Later", variant="soft", color_scheme="gray")),
                rx.button(
                    "Link account",
                    on_click=ConnectState.link_account,
                    disabled=(ConnectState.selected_account == "") | ConnectState.picker_loading,
                ),
                justify="end",
                spacing="3",
                padding_top="1em",
            ),
            max_width=styles.DIALOG_WIDTH,
        ),
        open=ConnectState.picker_open,
        on_open_change=ConnectState.set_picker_open,
    )
