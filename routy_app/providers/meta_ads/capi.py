"""Conversions API events: one pixel's batch per request (`POST /{pixel_id}/events`).

Meta rejects a whole batch for one bad event (code 100): the event it names gets Meta's message, the
others are collateral ("batch rejected because of event N") and go out again without it. Hashed email
and phone use Meta's normalisation (providers/hashing.py); `event_id` is Routy's dedup key.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from routy_app.providers.errors import PermanentError
from routy_app.providers.values import Account, OutgoingConversion, PushResult

STANDARD_EVENTS = (
    "Purchase",
    "Lead",
    "CompleteRegistration",
    "Contact",
    "Schedule",
    "SubmitApplication",
    "AddToCart",
    "InitiateCheckout",
    "Subscribe",
    "StartTrial",
)
BATCH_REJECTED = "batch rejected because of event {index}"
DEFAULT_EVENT_SOURCE_URL = "https://routy.invalid/conversion"  # a mapping should set its own
_INDEX = re.compile(r"\bindex\s+(\d+)|\bevent\s+#?(\d+)\b", re.IGNORECASE)
_MICRO = Decimal(1_000_000)

# The ingest API's `origin` -> Meta's action_source (Conversions API, "Server Event Parameters"). Meta
# refuses a `website` event without a browser's user agent and page URL, so a web conversion that came
# without a user agent is sent as `system_generated`, as one without any origin is.
ORIGIN_TO_ACTION_SOURCE: dict[str, str] = {
    "web": "website",
    "app": "app",
    "in_store": "physical_store",
    "phone": "phone_call",
    "other": "other",
}


def micros_to_number(micros: int) -> int | float:
    """custom_data.value as a JSON number (Meta wants a number, not a string)."""
    amount = Decimal(micros) / _MICRO
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def action_source(conv: OutgoingConversion) -> str:
    """Where the conversion happened, in Meta's words: its origin when the ingest API was told one."""
    chosen = ORIGIN_TO_ACTION_SOURCE.get(conv.origin or "web", "other")
    if chosen == "website" and not conv.user_agent:
        return "system_generated"
    return chosen


def event(conv: OutgoingConversion, account: Account) -> dict[str, Any]:
    extra = conv.action.extra
    user: dict[str, Any] = {}
    if conv.email_sha256_meta:
        user["em"] = [conv.email_sha256_meta]
    if conv.phone_sha256_meta:
        user["ph"] = [conv.phone_sha256_meta]
    for key, value in (
        ("fbc", conv.fbc),
        ("fbp", conv.fbp),
        ("client_ip_address", conv.ip),
        ("client_user_agent", conv.user_agent),
    ):
        if value:
            user[key] = value
    body: dict[str, Any] = {
        "event_name": extra.get("event_name") or "Purchase",
        "event_time": int(conv.occurred_at.timestamp()),
        "event_id": conv.key,
        "action_source": action_source(conv),
        "user_data": user,
        "custom_data": {
            "value": micros_to_number(conv.value_micros),
            "currency": (conv.currency or account.currency).lower(),
            "order_id": conv.key,
        },
    }
    if body["action_source"] == "website":
        body["event_source_url"] = extra.get("event_source_url") or DEFAULT_EVENT_SOURCE_URL
    return body


def rejected(batch: list[OutgoingConversion], exc: PermanentError) -> list[PushResult]:
    """The event Meta names fails with its words; the rest of the batch is collateral."""
    match = _INDEX.search(exc.message)
    index = int(match.group(1) or match.group(2)) if match else None
    named = PushResult("failed", error=exc.message)
    if index is None or index >= len(batch):
        return [named] * len(batch)
    results = [PushResult("failed", error=BATCH_REJECTED.format(index=index), collateral=True)] * len(batch)
    results[index] = named
    return results
