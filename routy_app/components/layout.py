"""The app shell: header, the traffic sources list, and the page body."""

from __future__ import annotations

import reflex as rx

from routy_app import styles
from routy_app.components.notices import toast_relay
from routy_app.state.auth import AuthState
from routy_app.state.source import SourceState


def header() -> rx.Component:
    return rx.el.header(
        rx.hstack(
            rx.hstack(
                rx.image(src="/routy.svg", width=styles.LOGO_SIZE, height=styles.LOGO_SIZE, alt=""),
                rx.heading("Routy", size="5"),
                rx.text("Integrations", color_scheme="gray", size="3"),
                align="center",
                spacing="2",
            ),
            rx.spacer(),
            rx.cond(
                AuthState.sandbox_mode,
                rx.tooltip(
                    rx.badge("Sandbox mode", color_scheme="amber", variant="surface", id="sandbox-badge"),
                    content="Providers are emulated offline (ROUTY_PROVIDER_MODE=sandbox): nothing reaches "
                    "real ad accounts.",
                ),
            ),
            rx.cond(
                AuthState.user_email != "",
                rx.hstack(
                    rx.cond(AuthState.is_admin, rx.link("Users", href="/users", size="2")),
                    rx.text(AuthState.user_email, size="2", id="signed-in-user"),
                    rx.badge(AuthState.user_role, variant="soft"),
                    rx.el.form(
                        rx.button("Sign out", type="submit", variant="ghost", size="1"),
                        id="logout-form",
                        action="/auth/logout",
                        method="post",
                        on_submit=rx.call_function("() => document.getElementById('logout-form').submit()"),
                    ),
                    align="center",
                    spacing="3",
                    wrap="wrap",
                ),
            ),
            rx.color_mode.button(aria_label="Toggle dark mode"),
            align="center",
            wrap="wrap",  # a phone: the user's part goes to a second line instead of widening the page
            padding_x="1.5em",
            padding_y="0.75em",
            border_bottom=f"1px solid {rx.color('gray', 5)}",
            width="100%",
        )
    )


def sources_sidebar() -> rx.Component:
    return rx.el.nav(
        rx.vstack(
            rx.text("Traffic sources", weight="bold", size="2", color_scheme="gray"),
            rx.foreach(
                SourceState.sources,
                lambda source: rx.link(
                    source.name,
                    href=source.href,
                    weight=rx.cond(source.id == SourceState.source_id, "bold", "regular"),
                    underline="none",
                    size="2",
                ),
            ),
            rx.separator(size="4", margin_y="0.5em"),
            rx.link(
                rx.hstack(rx.icon("bell", size=15), rx.text("Notifications"), align="center", spacing="2"),
                href="/notifications",
                size="2",
                underline="none",
                id="notifications-link",
            ),
            spacing="2",
            padding=rx.breakpoints(initial="1em 1.5em", sm="1.5em"),
            min_width=rx.breakpoints(initial="0", sm="220px"),
            # Beside the page from tablet width up; above it on a phone.
            border_right=rx.breakpoints(initial="none", sm=f"1px solid {rx.color('gray', 5)}"),
            border_bottom=rx.breakpoints(initial=f"1px solid {rx.color('gray', 5)}", sm="none"),
            min_height=rx.breakpoints(initial="0", sm=f"calc(100vh - {styles.HEADER_HEIGHT})"),
        ),
        id="sources-list",
        aria_label="Traffic sources",
    )


def shell(*body: rx.Component) -> rx.Component:
    return rx.box(
        toast_relay(),
        header(),
        rx.flex(
            sources_sidebar(),
            rx.el.main(*body, style={"padding": "1.5em", "width": "100%", "min_width": "0"}),
            direction=rx.breakpoints(initial="column", sm="row"),
            align=rx.breakpoints(initial="stretch", sm="start"),
            spacing="0",
            width="100%",
        ),
        width="100%",
    )
