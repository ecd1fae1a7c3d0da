"""Alert channels on the Notifications page: one card per channel and the add / edit dialog.

Secret inputs are never filled from state: an edit shows that a secret is saved, and an empty field
keeps it. The signing secret's Generate button makes one in the browser (crypto.getRandomValues) and
shows it once so the admin can copy it to the receiver.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from routy_app.services.alerts.channels import KIND_LABELS, SECURITY_LABELS
from routy_app.state.auth import AuthState
from routy_app.state.notifications import NotificationsState as N

F = N.form
KIND_ICONS = (("email", "mail"), ("slack", "message-square"), ("webhook", "webhook"))
SECRET_ID = "channel-signing_secret"
GENERATE_SECRET = f"""() => {{
  const bytes = new Uint8Array(32); crypto.getRandomValues(bytes);
  const secret = 'whsec_' + btoa(String.fromCharCode(...bytes))
    .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const input = document.getElementById('{SECRET_ID}');
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, secret);
  input.dispatchEvent(new Event('input', {{bubbles: true}}));
  input.focus(); input.select();
}}"""


def _icon(kind) -> rx.Component:
    return rx.match(kind, *[(k, rx.icon(icon, size=18)) for k, icon in KIND_ICONS], rx.icon("bell", size=18))


def channel_card(row) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                _icon(row.kind),
                rx.text(row.name, weight="bold", size="3", class_name="channel-name"),
                rx.spacer(),
                rx.cond(
                    AuthState.is_admin,
                    rx.switch(
                        checked=row.enabled,
                        on_change=lambda v: N.set_channel_enabled(row.id, v),
                        aria_label="Enabled " + row.name,
                    ),
                    rx.cond(row.enabled, rx.fragment(), rx.badge("Disabled", color_scheme="gray")),
                ),
                align="center",
                spacing="2",
                width="100%",
            ),
            rx.text(row.kind_label, size="1", color_scheme="gray"),
            rx.code(
                row.target, variant="ghost", size="2", style={"word_break": "break-all"}, class_name="channel-target"
            ),
            rx.cond(
                row.tested != "",
                rx.text(
                    rx.cond(row.test_ok, "Test OK", "Test failed"),
                    " · ",
                    row.tested,
                    ": ",
                    row.test_message,
                    size="1",
                    color_scheme=rx.cond(row.test_ok, "green", "red"),
                    class_name="channel-test",
                    style={"word_break": "break-word"},
                ),
                rx.text("Not tested yet.", size="1", color_scheme="gray", class_name="channel-test"),
            ),
            rx.cond(
                AuthState.is_admin,
                rx.hstack(
                    rx.button(
                        "Send test",
                        size="1",
                        variant="soft",
                        loading=N.testing_id == row.id,
                        on_click=N.send_test(row.id),
                    ),
                    rx.button("Edit", size="1", variant="soft", color_scheme="gray", on_click=N.open_edit(row.id)),
                    rx.button(
                        "Delete", size="1", variant="ghost", color_scheme="red", on_click=N.ask_delete(row.id, row.name)
                    ),
                    spacing="2",
                    wrap="wrap",
                    align="center",
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="channel-card",
    )


def add_channel_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(rx.button(rx.icon("plus", size=16), "Add channel", size="2")),
        rx.menu.content(*[rx.menu.item(label, on_click=N.open_new(kind)) for kind, label in KIND_LABELS.items()]),
    )


def _field(label: str, name: str, control: rx.Component, hint: str | rx.Var = "") -> rx.Component:
    error = N.form_errors.get(name, "")
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=f"channel-{name}"),
        control,
        rx.cond(
            error != "",
            rx.text(error, color_scheme="red", size="1", role="alert", id=f"channel-{name}-error"),
            rx.text(hint, size="1", color_scheme="gray"),
        ),
        spacing="1",
        width="100%",
    )


def _input(name: str, **props: Any) -> rx.Component:
    return rx.input(name=name, id=f"channel-{name}", width="100%", **props)


def _saved(flag, what: str) -> rx.Var:
    return rx.cond(flag, f"A {what} is saved; leave empty to keep it.", "")


def _email_fields() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.box(
                _field("SMTP host", "host", _input("host", default_value=F.host, placeholder="smtp.example.com")),
                flex="3",
                min_width="12em",
            ),
            rx.box(
                _field("Port", "port", _input("port", default_value=F.port, type="number")), flex="1", min_width="6em"
            ),
            spacing="3",
            wrap="wrap",
            width="100%",
        ),
        _field(
            "Security",
            "security",
            rx.select.root(
                rx.select.trigger(id="channel-security", width="100%"),
                rx.select.content(*[rx.select.item(label, value=key) for key, label in SECURITY_LABELS.items()]),
                name="security",
                default_value=F.security,
            ),
            "STARTTLS (587) or TLS (465) check the server's certificate; None only on a trusted network.",
        ),
        rx.flex(
            rx.box(
                _field("User name", "username", _input("username", default_value=F.username, auto_complete="off")),
                flex="1",
                min_width="12em",
            ),
            rx.box(
                _field(
                    "Password",
                    "password",
                    _input("password", type="password", auto_complete="new-password"),
                    _saved(F.has_password, "password"),
                ),
                flex="1",
                min_width="12em",
            ),
            spacing="3",
            wrap="wrap",
            width="100%",
        ),
        _field(
            "From",
            "from_addr",
            _input("from_addr", default_value=F.from_addr, placeholder="Routy <alerts@example.com>"),
        ),
        _field(
            "To",
            "to_addrs",
            rx.text_area(
                name="to_addrs",
                id="channel-to_addrs",
                default_value=F.to_addrs,
                rows="2",
                width="100%",
                placeholder="ops@example.com, oncall@example.com",
            ),
            "One or more addresses, separated by commas.",
        ),
        spacing="3",
        width="100%",
    )


def _url_field(hint: str) -> rx.Component:
    return _field(
        "Webhook URL",
        "url",
        _input(
            "url", type="password", auto_complete="off", placeholder=rx.cond(F.has_url, "•••••••• (saved)", "https://")
        ),
        rx.cond(F.has_url, "A URL is saved; leave empty to keep it. " + hint, hint),
    )


def _webhook_fields() -> rx.Component:
    return rx.vstack(
        _url_field("Routy POSTs JSON to it, signed with the secret below."),
        _field(
            "Signing secret",
            "signing_secret",
            rx.hstack(
                # Shown in clear only after Generate, so the admin can copy it (the value itself stays in the browser).
                _input(
                    "signing_secret",
                    type=rx.cond(N.secret_generated, "text", "password"),
                    auto_complete="off",
                    placeholder=rx.cond(F.has_signing_secret, "•••••••• (saved)", "whsec_…"),
                ),
                # call_function is compiled into the page (no eval, which the CSP forbids)
                rx.button(
                    "Generate",
                    type="button",
                    variant="soft",
                    on_click=[N.reveal_generated_secret, rx.call_function(GENERATE_SECRET)],
                ),
                width="100%",
                spacing="2",
            ),
            rx.cond(
                F.has_signing_secret,
                "A secret is saved; leave empty to keep it.",
                "Receivers check X-Routy-Signature with it (README: Verifying the signature). Copy it now: "
                "Routy stores it encrypted and never shows it again.",
            ),
        ),
        spacing="3",
        width="100%",
    )


def channel_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(F.id != 0, "Edit channel", "Add channel")),
            rx.dialog.description(rx.match(F.kind, *KIND_LABELS.items(), ""), size="2"),
            rx.form(
                rx.vstack(
                    _field("Name", "name", _input("name", default_value=F.name, placeholder="Ops on-call")),
                    rx.match(
                        F.kind,
                        ("email", _email_fields()),
                        (
                            "slack",
                            _url_field("Slack: Apps → Incoming Webhooks; Mattermost and others take the same JSON."),
                        ),
                        ("webhook", _webhook_fields()),
                        rx.fragment(),
                    ),
                    rx.cond(
                        N.form_error != "",
                        rx.callout(N.form_error, icon="triangle_alert", color_scheme="red", role="alert", width="100%"),
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", type="button", variant="soft", color_scheme="gray")),
                        rx.button("Save channel", type="submit"),
                        justify="end",
                        spacing="3",
                        width="100%",
                    ),
                    spacing="3",
                    width="100%",
                ),
                on_submit=N.save_channel,
                reset_on_submit=False,
            ),
            max_width="min(560px, calc(100vw - 1rem))",
        ),
        open=N.form_open,
        on_open_change=N.set_form_open,
    )


def confirm_delete() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete ", N.confirm_delete_name, "?"),
            rx.alert_dialog.description(
                "The channel stops getting alerts and its delivery records are removed. Incidents stay.", size="2"
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Keep it", variant="soft", color_scheme="gray")),
                rx.button("Delete channel", color_scheme="red", on_click=N.delete_channel),
                justify="end",
                spacing="3",
                padding_top="1em",
            ),
        ),
        open=N.confirm_delete_id != 0,
        on_open_change=N.cancel_delete,
    )
