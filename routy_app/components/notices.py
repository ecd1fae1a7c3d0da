"""What the server asks the browser to do, without sending it a script (our CSP forbids eval):
show a toast, follow a redirect to a provider, tidy the address bar."""

from __future__ import annotations

import reflex as rx

from routy_app.state.connect import ConnectState
from routy_app.state.source import SourceState
from routy_app.state.toast import KINDS, ToastState


def _relay(kind: str) -> rx.Component:
    show = getattr(rx.toast, kind)
    return rx.el.span(
        key=ToastState.seq,
        hidden=True,
        class_name="toast-relay",
        on_mount=[show(ToastState.text), ToastState.shown(ToastState.seq)],
    )


def toast_relay() -> rx.Component:
    return rx.cond(ToastState.kind != "", rx.match(ToastState.kind, *((k, _relay(k)) for k in KINDS)))


def provider_redirect() -> rx.Component:
    """Follows ConnectState.redirect_url with a full page load (a plain link clicked on mount).

    Client-side routing would render the sandbox's consent page (on our own host) as an unknown
    route, and a server-sent script would need eval; a visible link also helps if scripts stall.
    """
    return rx.cond(
        ConnectState.redirect_url != "",
        rx.el.a(
            "Continue to the provider's consent page",
            href=ConnectState.redirect_url,
            id="provider-redirect",
            reload_document=True,
            key=ConnectState.redirect_url,
            on_mount=rx.call_function("() => document.getElementById('provider-redirect')?.click()"),
        ),
    )


def focus_returner() -> rx.Component:
    """Back from an integration's page, the focus returns to the control that opened it (its card's
    Settings link, marked data-focus-return by components/provider_card.py)."""
    return rx.cond(
        SourceState.focus_integration != 0,
        rx.el.span(
            hidden=True,
            key=SourceState.focus_integration,
            on_mount=[
                rx.call_function("() => document.querySelector('[data-focus-return=\"true\"]')?.focus()"),
                SourceState.focus_returned,
            ],
        ),
    )


def query_cleaner() -> rx.Component:
    """Drops the one-time OAuth query from the address bar, so a reload does not replay it."""
    return rx.cond(
        SourceState.clean_query,
        rx.el.span(
            hidden=True,
            on_mount=[
                rx.call_function("() => window.history.replaceState(null, '', window.location.pathname)"),
                SourceState.query_cleaned,
            ],
        ),
    )
