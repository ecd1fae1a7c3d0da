"""The macros a webhook's URL, headers and body may use: one per conversion field, and a few derived ones.

Why derived ones: trackers expect `{click_id}` whatever network the click came from, and Meta's fbclid
travels inside `fbc` (`fb.1.<time>.<fbclid>`). `{source}` names the network a click id belongs to
(google, meta) so one receiver can tell them apart. Values are rendered by `routy_app.outbound.templates`:
percent-encoded in the URL, JSON-escaped in the body, as text in headers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from routy_app.providers.values import ConversionAction, OutgoingConversion

MICRO = Decimal(1_000_000)

# name -> what it is (the set-up form and docs/providers/webhook.md list them)
MACROS: dict[str, str] = {
    "id": "the conversion's id as your system sent it",
    "event_type": "the Routy event type (lead, sale, ...)",
    "value": "the value as a decimal number (the mapping's override when it has one)",
    "value_micros": "the value in millionths (integer)",
    "currency": "ISO 4217 code, e.g. EUR",
    "occurred_at": "when it happened, ISO 8601 in UTC (2026-05-01T14:03:00Z)",
    "occurred_at_unix": "when it happened, Unix seconds",
    "click_id": "the click id: gclid, gbraid, wbraid or fbclid, the first present",
    "source": "the ad network of the click id: google, meta, or empty",
    "gclid": "Google click id",
    "gbraid": "Google app-to-web click id",
    "wbraid": "Google web-to-app click id",
    "fbclid": "Meta click id (taken from fbc)",
    "fbc": "Meta click cookie (_fbc)",
    "fbp": "Meta browser cookie (_fbp)",
    "ga_client_id": "GA4 client id",
    "email_sha256": "SHA-256 of the normalised email",
    "phone_sha256": "SHA-256 of the normalised phone number",
    "user_agent": "the visitor's user agent",
    "ip": "the visitor's IP address",
    "origin": "where it happened: web, app, in_store, phone, other",
    "consent_ad_user_data": "granted, denied or empty",
    "consent_ad_personalization": "granted, denied or empty",
    "dedup_key": "Routy's key for this conversion, the same on every attempt (also the Idempotency-Key header)",
}


def fbclid_of(fbc: str | None) -> str | None:
    """The fbclid inside an fbc value (`fb.<subdomain index>.<creation time>.<fbclid>`)."""
    if not fbc:
        return None
    parts = fbc.split(".", 3)
    return parts[3] if len(parts) == 4 and parts[0] == "fb" and parts[3] else None


def decimal_text(micros: int) -> str:
    """12_500_000 -> "12.5"; 0 -> "0"."""
    text = format(Decimal(micros) / MICRO, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def values_of(conv: OutgoingConversion, value_override: str | None = None) -> dict[str, Any]:
    """The macro values of one conversion (None where a field is absent: empty text, JSON null)."""
    fbclid = fbclid_of(conv.fbc)
    google = conv.gclid or conv.gbraid or conv.wbraid
    click_id = google or fbclid
    micros = conv.value_micros
    if value_override:
        micros = int(Decimal(value_override) * MICRO)
    occurred = conv.occurred_at.astimezone(dt.UTC)
    return {
        "id": conv.external_id or conv.key,
        "event_type": conv.event_type,
        "value": float(Decimal(micros) / MICRO) if micros % 1_000_000 else micros // 1_000_000,
        "value_micros": micros,
        "currency": conv.currency or None,
        "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "occurred_at_unix": int(occurred.timestamp()),
        "click_id": click_id,
        "source": "google" if google else "meta" if fbclid or conv.fbp else None,
        "gclid": conv.gclid,
        "gbraid": conv.gbraid,
        "wbraid": conv.wbraid,
        "fbclid": fbclid,
        "fbc": conv.fbc,
        "fbp": conv.fbp,
        "ga_client_id": conv.ga_client_id,
        "email_sha256": conv.email_sha256,
        "phone_sha256": conv.phone_sha256,
        "user_agent": conv.user_agent,
        "ip": conv.ip,
        "origin": conv.origin,
        "consent_ad_user_data": conv.consent_ad_user_data,
        "consent_ad_personalization": conv.consent_ad_personalization,
        "dedup_key": conv.key,
    }


def sample_conversion() -> OutgoingConversion:
    """A conversion with every field set: set-up renders the templates with it to check them."""
    return OutgoingConversion(
        key="1:sample-1",
        event_type="sale",
        action=ConversionAction(id="webhook", name="Webhook"),
        occurred_at=dt.datetime(2026, 5, 1, 14, 3, tzinfo=dt.UTC),
        value_micros=12_500_000,
        currency="EUR",
        gclid="Cj0KCQ-sample",
        fbc="fb.1.1714572180000.IwAR-sample",
        fbp="fb.1.1714572180000.123456789",
        ga_client_id="111.222",
        email_sha256="0" * 64,
        phone_sha256="1" * 64,
        user_agent="Mozilla/5.0 (sample)",
        ip="203.0.113.7",
        consent_ad_user_data="granted",
        consent_ad_personalization="denied",
        origin="web",
        external_id="sample-1",
    )
