"""Sending one alert payload over one channel: SMTP, a Slack-compatible webhook or a signed JSON webhook.

Every send ends in a `SendOutcome` (never an exception): delivered, retry later, or give up with a reason
a person can act on. The HTTP kinds use `routy_app.outbound` (shared with the Webhook card); SMTP uses
the standard library in a worker thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from routy_app.config import get_settings
from routy_app.outbound import signing
from routy_app.outbound.guard import Guard
from routy_app.outbound.send import HttpOutcome, send_request
from routy_app.services.alerts import messages
from routy_app.services.alerts.channels import EMAIL, SLACK, WEBHOOK, ChannelConfig

SMTP_TIMEOUT = 15.0
HTTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class SendOutcome:
    ok: bool
    retryable: bool
    message: str  # "Delivered: HTTP 200 in 40 ms" or why not
    response: str = ""  # the receiver's answer (first 2 KB), for the delivery record
    retry_after: float | None = None


@dataclass
class Transport:
    """What sending needs from outside: an HTTP client, a clock and how to trust TLS servers.

    `tls_context` makes the SSL context for SMTP (the system's trust store by default; tests pass one
    that trusts their own certificate authority).
    """

    http: httpx.AsyncClient
    tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    smtp_timeout: float = SMTP_TIMEOUT
    http_timeout: float = HTTP_TIMEOUT
    # No webhook to link-local or metadata addresses (nor this machine unless allowed): outbound/guard.py
    guard: Guard = field(default_factory=lambda: Guard(get_settings().webhooks_may_reach_local))


async def send(transport: Transport, channel: ChannelConfig, payload: dict[str, Any], public_url: str) -> SendOutcome:
    if channel.kind == EMAIL:
        return await asyncio.to_thread(_send_email, transport, channel, payload, public_url)
    if channel.kind == SLACK:
        body = messages.webhook_body(messages.slack_body(payload))
        outcome = await send_request(
            transport.http,
            "POST",
            channel.secrets["url"],
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=transport.http_timeout,
            guard=transport.guard,
        )
        return _from_http(outcome)
    if channel.kind == WEBHOOK:
        body = messages.webhook_body(payload)
        stamp = int(transport.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            signing.SIGNATURE_HEADER: signing.signature_header(channel.secrets["signing_secret"], stamp, body),
            "X-Routy-Event": payload["type"],
            "X-Routy-Delivery": payload["id"],
        }
        outcome = await send_request(
            transport.http,
            "POST",
            channel.secrets["url"],
            content=body,
            headers=headers,
            timeout=transport.http_timeout,
            guard=transport.guard,
        )
        return _from_http(outcome)
    return SendOutcome(False, False, f"Unknown channel type {channel.kind!r}.")


def _from_http(outcome: HttpOutcome) -> SendOutcome:
    if outcome.ok:
        return SendOutcome(True, False, f"Delivered: {outcome.summary()}.", outcome.response_excerpt)
    return SendOutcome(False, outcome.retryable, outcome.error, outcome.response_excerpt, outcome.retry_after)


def _send_email(transport: Transport, channel: ChannelConfig, payload: dict[str, Any], public_url: str) -> SendOutcome:
    settings = channel.settings
    host, port, security = settings["host"], int(settings["port"]), settings["security"]
    msg = messages.email_message(
        payload,
        from_addr=settings["from_addr"],
        to_addrs=settings["to_addrs"],
        now=transport.now(),
        public_url=public_url,
    )
    started = time.monotonic()
    try:
        if security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=transport.smtp_timeout, context=transport.tls_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=transport.smtp_timeout)
        with client:
            client.ehlo()
            if security == "starttls":
                if not client.has_extn("starttls"):
                    return SendOutcome(
                        False,
                        False,
                        f"{host} does not offer STARTTLS; choose TLS (port 465) or "
                        "None if the server is on a trusted network.",
                    )
                client.starttls(context=transport.tls_context())
                client.ehlo()
            if settings.get("username"):
                client.login(settings["username"], channel.secrets.get("password", ""))
            refused = client.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        return SendOutcome(False, False, f"{host} refused the user name or password ({_smtp_reply(exc)}).")
    except smtplib.SMTPRecipientsRefused as exc:
        return SendOutcome(
            False,
            False,
            "Every recipient was refused: "
            + "; ".join(f"{a} ({_reply_text(code, text)})" for a, (code, text) in exc.recipients.items()),
        )
    except smtplib.SMTPSenderRefused as exc:
        return SendOutcome(
            False, _transient(exc.smtp_code), f"The sender {exc.sender} was refused ({_smtp_reply(exc)})."
        )
    except smtplib.SMTPResponseException as exc:
        return SendOutcome(False, _transient(exc.smtp_code), f"{host} answered {_smtp_reply(exc)}.")
    except smtplib.SMTPNotSupportedError as exc:
        return SendOutcome(False, False, f"{host}: {exc}.")
    except ssl.SSLError as exc:
        return SendOutcome(False, False, f"TLS with {host} failed: {exc.reason or exc}.")
    except (smtplib.SMTPServerDisconnected, TimeoutError) as exc:
        return SendOutcome(False, True, f"{host}:{port} dropped the connection or timed out ({exc or 'no answer'}).")
    except OSError as exc:
        return SendOutcome(False, True, f"Could not connect to {host}:{port} ({exc.strerror or exc}).")
    ms = int((time.monotonic() - started) * 1000)
    note = f"; refused: {', '.join(refused)}" if refused else ""
    return SendOutcome(True, False, f"Delivered: {host} accepted it in {ms} ms{note}.")


def _transient(code: int) -> bool:
    """SMTP 4xx replies are temporary (try again later); 5xx are permanent."""
    return 400 <= code < 500


def _reply_text(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}".strip()


def _smtp_reply(exc: smtplib.SMTPResponseException) -> str:
    return _reply_text(exc.smtp_code, exc.smtp_error)
