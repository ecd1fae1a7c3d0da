"""One conversion as one HTTP request: the templates filled in, auth and signature added; and how the
request and its answer read in Test push (exactly, secrets masked) and in Push History (shortly).

The signature is the alert webhooks' recipe (`routy_app.outbound.signing`): `X-Routy-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (an empty body for GET).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from routy_app.outbound import signing, templates
from routy_app.outbound.send import EXCERPT_BYTES, HttpOutcome
from routy_app.providers.values import OutgoingConversion
from routy_app.providers.webhook.macros import values_of
from routy_app.providers.webhook.setup import WebhookSetup

MASK = "••••"
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class RenderedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    secret_values: tuple[str, ...] = ()  # header values that carry a secret (masked when shown)

    def describe(self) -> str:
        """The exact request as sent, the authorisation masked (Test push shows it)."""
        lines = [f"{self.method} {self.url}"]
        for name, value in self.headers.items():
            lines.append(f"{name}: {MASK if value in self.secret_values else value}")
        if self.body:
            lines += ["", self.body.decode("utf-8", "replace")]
        return "\n".join(lines)

    def short_url(self) -> str:
        """scheme://host/path, "?…" for a query (it may carry a token the template holds)."""
        parts = urlsplit(self.url)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, "…" if parts.query else "", ""))


def _clean(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def value_override(extra: Mapping[str, Any]) -> str | None:
    raw = str(extra.get("value") or "").strip()
    return raw or None


def render(setup: WebhookSetup, conv: OutgoingConversion, *, timestamp: int) -> RenderedRequest:
    """The request for `conv` (TemplateError when a template no longer renders: a permanent failure)."""
    values = values_of(conv, value_override(conv.action.extra))
    url = templates.render_url(setup.url_template, values)
    body = (
        templates.render_json(setup.body_template, values).encode("utf-8")
        if setup.body_template and setup.method != "GET"
        else None
    )
    headers: dict[str, str] = {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    for name, template in setup.headers:
        headers[name] = _clean(templates.render_text(template, values))
    secrets: list[str] = []
    if setup.auth_type == "basic":
        token = base64.b64encode(f"{setup.auth_username}:{setup.auth_secret}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
        secrets.append(headers["Authorization"])
    elif setup.auth_type == "bearer":
        headers["Authorization"] = f"Bearer {setup.auth_secret}"
        secrets.append(headers["Authorization"])
    headers[IDEMPOTENCY_HEADER] = conv.key
    if setup.signing_secret:
        headers[signing.SIGNATURE_HEADER] = signing.signature_header(setup.signing_secret, timestamp, body or b"")
    return RenderedRequest(setup.method, url, headers, body, tuple(secrets))


def exchange_text(request: RenderedRequest, outcome: HttpOutcome) -> str:
    """What Push History shows for one attempt: request line and body, status, latency, the answer's start."""
    if outcome.status_code is not None:
        result = f"HTTP {outcome.status_code} in {outcome.latency_ms} ms"
    else:
        result = f"{outcome.error} ({outcome.latency_ms} ms)"
    lines = [f"{request.method} {request.short_url()} → {result}"]
    if request.body:
        lines.append("Sent: " + request.body[:EXCERPT_BYTES].decode("utf-8", "replace"))
    if outcome.status_code is not None:
        lines.append("Answer: " + (outcome.response_excerpt or "(empty body)"))
    return "\n".join(lines)
