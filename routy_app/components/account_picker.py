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
        rx.cond(
            account.status_label != "",
            rx.badge(
                account.status_label,
                color_scheme=rx.cond(account.reason != "", "red", "amber"),
                variant="soft",
                class_name="account-status",
            ),
        ),
        align="center",
        spacing="3",
        wrap="wrap",
    )
    return rx.cond(
        account.selectable,
        rx.radio_group.item(
            label, value=account.id, aria_label=account.name, padding_left=rx.cond(account.child, "1.5em", "0")
        ),
        rx.box(
            label,
            rx.cond(
                account.reason != "",
                rx.text(account.reason, size="1", color_scheme="red", class_name="account-reason"),
            ),
            padding_y="0.25em",
            padding_left=rx.cond(account.child, "1.5em", "0"),
            class_name=rx.cond(account.manager, "manager-row", "blocked-account"),
            title=rx.cond(
                account.manager, "Manager accounts hold no campaigns: pick one of its clients", account.reason
            ),
            opacity=rx.cond(account.manager, "1", "0.7"),
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
            rx.cond(
                ConnectState.searchable,
                rx.input(
                    placeholder="Search accounts by name or id",
                    value=ConnectState.account_search,
                    on_change=ConnectState.set_account_search,
                    aria_label="Search accounts",
                    margin_top="0.75em",
                    width="100%",
                ),
            ),
            rx.box(
                rx.cond(
                    ConnectState.picker_loading,
                    rx.hstack(rx.spinner(), rx.text("Loading accounts…", size="2"), padding_y="1em"),
                    rx.cond(
                        ConnectState.accounts.length() > 0,
                        rx.radio_group.root(
                            rx.vstack(rx.foreach(ConnectState.shown_accounts, _account_row), spacing="2"),
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
