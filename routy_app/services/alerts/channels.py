"""Alert channels as admins set them: validation, secrets encrypted at rest, masked descriptions.

What is secret: the SMTP password, both webhook URLs (Slack's carry their token in the path; a custom
receiver's may carry one in the query) and the signing secret. They live only in `secrets_enc`
(the project's Fernet box); the page shows `target`, a masked description, and never gets them back:
a blank secret field on edit keeps the stored value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete
from sqlmodel import Session, col, select

from routy_app.config import get_settings
from routy_app.crypto import get_box
from routy_app.errors import InvalidInput
from routy_app.models import AlertChannel, AlertDelivery, saved_id
from routy_app.outbound import guard, signing
from routy_app.timeutil import utcnow

EMAIL, SLACK, WEBHOOK = "email", "slack", "webhook"
KIND_LABELS = {EMAIL: "Email (SMTP)", SLACK: "Slack-compatible webhook", WEBHOOK: "JSON webhook (signed)"}
SECURITY_LABELS = {"starttls": "STARTTLS", "tls": "TLS (SMTPS)", "none": "None (plain text)"}
MAX_RECIPIENTS = 20
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class ChannelProblem(InvalidInput):
    """The form cannot be saved; `field_errors` maps field name -> message, `message` sums it up."""

    def __init__(self, message: str, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field_errors = field_errors or {}


@dataclass(frozen=True)
class ChannelConfig:
    """A channel with its secrets decrypted, for sending only (never stored in UI state)."""

    id: int
    name: str
    kind: str
    settings: dict[str, Any]
    secrets: dict[str, str]


def settings_of(channel: AlertChannel) -> dict[str, Any]:
    settings: dict[str, Any] = json.loads(channel.settings_json or "{}")
    return settings


def config_of(channel: AlertChannel) -> ChannelConfig:
    secrets = get_box().decrypt_json(channel.secrets_enc) if channel.secrets_enc else {}
    return ChannelConfig(saved_id(channel), channel.name, channel.kind, settings_of(channel), secrets)


def list_channels(session: Session) -> list[AlertChannel]:
    return list(session.exec(select(AlertChannel).order_by(col(AlertChannel.id))).all())


def get_channel(session: Session, channel_id: int) -> AlertChannel:
    channel = session.get(AlertChannel, channel_id)
    if channel is None:
        raise ChannelProblem("This channel no longer exists.")
    return channel


# ---------------------------------------------------------------- validation


def _text(form: dict[str, Any], name: str) -> str:
    return str(form.get(name) or "").strip()


def _url(raw: str) -> str | None:
    """An absolute http(s) URL with a host, else None."""
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in raw):
        return None
    return raw


def _addresses(raw: str) -> list[str] | None:
    """Comma-, semicolon- or line-separated addresses (with or without display names), else None."""
    parts = [p for p in re.split(r"[,;\n]", raw) if p.strip()]
    found = [address for _, address in getaddresses(parts)]
    if not found or len(found) != len(parts) or not all(_ADDRESS.match(a) for a in found):
        return None
    return found


def mask_url(url: str) -> str:
    """scheme://host/… : enough to recognise the receiver, none of its path or query (tokens live there)."""
    parts = urlsplit(url)
    tail = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{tail}"


def _validate(
    kind: str, form: dict[str, Any], stored_secrets: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str], str]:
    """(settings, secrets, masked target) from the form, or ChannelProblem with a message per field."""
    errors: dict[str, str] = {}
    settings: dict[str, Any] = {}
    secrets = dict(stored_secrets)
    if kind == EMAIL:
        host = _text(form, "host")
        if not host or not _HOST.match(host):
            errors["host"] = "Enter the SMTP server's host name, e.g. smtp.example.com."
        port_raw = _text(form, "port") or "587"
        port = int(port_raw) if port_raw.isdigit() else 0
        if not 1 <= port <= 65535:
            errors["port"] = "A port between 1 and 65535 (587 for STARTTLS, 465 for TLS, 25 plain)."
        security = _text(form, "security") or "starttls"
        if security not in SECURITY_LABELS:
            errors["security"] = "Choose STARTTLS, TLS or None."
        username = _text(form, "username")
        password = str(form.get("password") or "")
        if password:
            secrets["password"] = password
        elif not username:
            secrets.pop("password", None)
        if username and not secrets.get("password"):
            errors["password"] = "Enter the password for this user name."
        from_raw = _text(form, "from_addr")
        if not (from_raw and _ADDRESS.match(parseaddr(from_raw)[1])):
            errors["from_addr"] = "Enter the sender address, e.g. Routy <alerts@example.com>."
        recipients = _addresses(_text(form, "to_addrs"))
        if recipients is None:
            errors["to_addrs"] = "Enter one or more recipient addresses, separated by commas."
        elif len(recipients) > MAX_RECIPIENTS:
            errors["to_addrs"] = f"At most {MAX_RECIPIENTS} recipients; use a group address for more."
        settings = {
            "host": host,
            "port": port,
            "security": security,
            "username": username,
            "from_addr": from_raw,
            "to_addrs": ", ".join(recipients or []),
        }
        target = f"{host}:{port} → {settings['to_addrs']}"
    elif kind in (SLACK, WEBHOOK):
        raw = _text(form, "url")
        if raw:
            if _url(raw) is None:
                errors["url"] = "Enter a full http:// or https:// URL."
            elif problem := guard.url_problem(raw, allow_local=get_settings().webhooks_may_reach_local):
                errors["url"] = problem
            else:
                secrets["url"] = raw
        elif not secrets.get("url"):
            errors["url"] = "Enter the webhook URL."
        if kind == WEBHOOK:
            secret = str(form.get("signing_secret") or "").strip()
            if secret:
                if len(secret) < signing.MIN_SECRET_LENGTH:
                    errors["signing_secret"] = f"At least {signing.MIN_SECRET_LENGTH} characters; use Generate."
                else:
                    secrets["signing_secret"] = secret
            elif not secrets.get("signing_secret"):
                errors["signing_secret"] = "Enter a signing secret or press Generate."
        target = mask_url(secrets["url"]) if secrets.get("url") and "url" not in errors else ""
    else:
        raise ChannelProblem(f"Unknown channel type {kind!r}.")
    if errors:
        raise ChannelProblem("Some fields need attention.", errors)
    return settings, secrets, target


def save_channel(session: Session, channel_id: int | None, kind: str, form: dict[str, Any]) -> AlertChannel:
    """Create (channel_id None) or update a channel from the page's form; secrets left blank are kept."""
    name = _text(form, "name")
    channel = get_channel(session, channel_id) if channel_id else AlertChannel(kind=kind, name=name)
    kind = channel.kind
    stored_secrets = config_of(channel).secrets if channel.secrets_enc else {}
    errors: dict[str, str] = {}
    if not name or len(name) > 100:
        errors["name"] = "Give the channel a name (up to 100 characters)."
    try:
        settings, secrets, target = _validate(kind, form, stored_secrets)
    except ChannelProblem as exc:
        raise ChannelProblem(exc.message, {**errors, **exc.field_errors}) from None
    if errors:
        raise ChannelProblem("Some fields need attention.", errors)
    channel.name, channel.settings_json, channel.target = name, json.dumps(settings), target
    channel.secrets_enc = get_box().encrypt_json(secrets) if secrets else None
    channel.updated_at = utcnow()
    session.add(channel)
    session.commit()
    session.refresh(channel)
    return channel


def set_enabled(session: Session, channel_id: int, enabled: bool) -> AlertChannel:
    """A disabled channel gets no new notices; its queued ones are cancelled when their turn comes."""
    channel = get_channel(session, channel_id)
    channel.enabled, channel.updated_at = enabled, utcnow()
    session.add(channel)
    session.commit()
    return channel


def delete_channel(session: Session, channel_id: int) -> str:
    """Delete the channel and its delivery records; returns its name."""
    channel = get_channel(session, channel_id)
    name = channel.name
    session.exec(delete(AlertDelivery).where(col(AlertDelivery.channel_id) == channel_id))
    session.delete(channel)
    session.commit()
    return name


def record_test(session: Session, channel_id: int, ok: bool, message: str) -> None:
    channel = session.get(AlertChannel, channel_id)
    if channel is None:
        return
    channel.last_test_at, channel.last_test_ok, channel.last_test_message = utcnow(), ok, message[:1000]
    session.add(channel)
    session.commit()
