"""The app shell: header, the traffic sources list, and the page body.

From tablet width up the sources list is a sidebar beside the page; on a phone it is a menu (a drawer
opened from the header's Menu button), so nothing is wider than the screen.
"""

from __future__ import annotations

import reflex as rx

from routy_app import routes, styles
from routy_app.components.notices import toast_relay
from routy_app.components.source_dialog import source_dialog
from routy_app.state.auth import AuthState
from routy_app.state.source import SourceState

PHONE_ONLY = rx.breakpoints(initial="flex", sm="none")
WIDE_ONLY = rx.breakpoints(initial="none", sm="flex")


def _sign_out(form_id: str) -> rx.Component:
    return rx.el.form(
        rx.button("Sign out", type="submit", variant="ghost", size="1"),
        id=form_id,
        display="flex",
        action="/auth/logout",
        method="post",
        on_submit=rx.call_function(f"() => document.getElementById('{form_id}').submit()"),
    )


def _menu_button() -> rx.Component:
    """The phone's way to the sources list, Notifications, Users and Sign out."""
    return rx.drawer.root(
        rx.drawer.trigger(
            rx.icon_button(
                rx.icon("menu", size=18),
                variant="soft",
                color_scheme="gray",
                aria_label="Menu",
                id="menu-button",
            ),
            display=PHONE_ONLY,
        ),
        rx.drawer.overlay(z_index="50"),
        rx.drawer.portal(
            rx.drawer.content(
                rx.vstack(
                    rx.hstack(
                        rx.drawer.title("Menu", size="4"),
                        rx.spacer(),
                        rx.drawer.close(
                            rx.icon_button(rx.icon("x", size=16), variant="ghost", aria_label="Close menu")
                        ),
                        align="center",
                        width="100%",
                    ),
                    rx.cond(
                        AuthState.user_email != "",
                        rx.vstack(
                            rx.hstack(
                                rx.text(AuthState.user_email, size="2", style={"word_break": "break-all"}),
                                rx.badge(AuthState.user_role, variant="soft"),
                                align="center",
                                spacing="2",
                                wrap="wrap",
                            ),
                            _sign_out("logout-form-menu"),
                            spacing="2",
                        ),
                    ),
                    rx.separator(size="4"),
                    _nav_links(in_menu=True),
                    spacing="3",
                    width="100%",
                ),
                id="phone-menu",
                role="dialog",
                aria_label="Menu",
                top="0",
                left="0",
                height="100%",
                width="min(20em, 85vw)",
                padding="1.25em",
                background_color=rx.color("gray", 1),
                z_index="60",
                overflow_y="auto",
            )
        ),
        direction="left",
    )


def header() -> rx.Component:
    return rx.el.header(
        rx.hstack(
            _menu_button(),
            rx.hstack(
                rx.image(src="/routy.svg", width=styles.LOGO_SIZE, height=styles.LOGO_SIZE, alt=""),
                rx.heading("Routy", size="5"),
                rx.text("Integrations", color_scheme="gray", size="3", display=WIDE_ONLY),
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
                    rx.cond(AuthState.is_admin, rx.link("Users", href=routes.USERS, size="2")),
                    rx.text(AuthState.user_email, size="2", id="signed-in-user"),
                    rx.badge(AuthState.user_role, variant="soft"),
                    _sign_out("logout-form"),
                    align="center",
                    spacing="3",
                    display=WIDE_ONLY,  # on a phone these are in the menu
                ),
            ),
            rx.color_mode.button(aria_label="Toggle dark mode"),
            align="center",
            spacing="3",
            padding_x=rx.breakpoints(initial="1em", sm="1.5em"),
            padding_y="0.75em",
            border_bottom=f"1px solid {rx.color('gray', 5)}",
            width="100%",
        )
    )


def _nav_link(child: rx.Component, href: str | rx.Var, in_menu: bool, **props: str) -> rx.Component:
    link = rx.link(child, href=href, underline="none", size="3" if in_menu else "2", **props)
    return rx.drawer.close(rx.box(link)) if in_menu else link


def _new_source_button(in_menu: bool) -> rx.Component:
    button = rx.button(
        rx.icon("plus", size=14),
        "New traffic source",
        size="1",
        variant="ghost",
        on_click=SourceState.open_source_dialog("new"),
        id="new-source" + ("-menu" if in_menu else ""),
    )
    return rx.drawer.close(rx.box(button)) if in_menu else button


def _nav_links(in_menu: bool = False) -> rx.Component:
    suffix = "-menu" if in_menu else ""
    return rx.vstack(
        rx.text("Traffic sources", weight="bold", size="2", color_scheme="gray"),
        rx.foreach(
            SourceState.sources,
            lambda source: _nav_link(
                rx.text(source.name, weight=rx.cond(source.id == SourceState.source_id, "bold", "regular")),
                source.href,
                in_menu,
            ),
        ),
        rx.cond(
            AuthState.is_admin,
            _new_source_button(in_menu),
        ),
        rx.separator(size="4", margin_y="0.5em"),
        _nav_link(
            rx.hstack(rx.icon("bell", size=15), rx.text("Notifications"), align="center", spacing="2"),
            routes.NOTIFICATIONS,
            in_menu,
            id="notifications-link" + suffix,
        ),
        *(
            [rx.cond(AuthState.is_admin, _nav_link(rx.text("Users"), routes.USERS, in_menu, id="users-link-menu"))]
            if in_menu
            else []
        ),
        spacing="3" if in_menu else "2",
        width="100%",
    )


def sources_sidebar() -> rx.Component:
    return rx.el.nav(
        rx.box(
            _nav_links(),
            padding="1.5em",
            width="220px",
            border_right=f"1px solid {rx.color('gray', 5)}",
            min_height=f"calc(100vh - {styles.HEADER_HEIGHT})",
        ),
        id="sources-list",
        aria_label="Traffic sources",
        display=WIDE_ONLY,  # on a phone the header's Menu holds it
        flex_shrink="0",
    )


def shell(*body: rx.Component) -> rx.Component:
    return rx.box(
        toast_relay(),
        source_dialog(),
        header(),
        rx.flex(
            sources_sidebar(),
            rx.el.main(
                *body,
                padding=rx.breakpoints(initial="1em", sm="1.5em"),
                width="100%",
                min_width="0",
            ),
            direction="row",
            align="start",
            spacing="0",
            width="100%",
        ),
        width="100%",
        max_width="100vw",
    )
