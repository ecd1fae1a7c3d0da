"""Sending conversions with the Measurement Protocol: /debug/mp/collect first, then /mp/collect.

`/mp/collect` answers 2xx whatever it receives, so every request is first checked against the
validation server. Client id, consent and user data are request-level, so events are grouped into one
request per (client id, consent, user data). The api secret travels in the query string: no error
message ever carries the URL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from routy_app.providers.errors import PermanentError, TransientError
from routy_app.providers.values import OutgoingConversion, PushResult

MAX_EVENTS_PER_REQUEST = 25
CHECK_CLIENT_ID = "1000000000.1000000000"  # a syntactically normal GA client id for setup checks
NO_CLIENT_ID = PushResult("skipped", error="no GA client id")


def mp_status_error(status: int, what: str) -> TransientError | PermanentError:
    text = f"The Measurement Protocol {what} answered HTTP {status}."
    if status >= 500 or status == 429:
        return TransientError(text, status_code=status)
    return PermanentError(text, status_code=status)


async def mp_post(
    http: httpx.AsyncClient, url: str, params: dict[str, str], payload: dict[str, Any], what: str
) -> httpx.Response:
    try:
        return await http.post(url, params=params, json=payload)
    except httpx.TimeoutException:
        raise TransientError(f"The Measurement Protocol {what} timed out.") from None
    except httpx.TransportError as exc:  # the message never contains the URL (it holds the api secret)
        raise TransientError(f"Could not reach the Measurement Protocol {what} ({type(exc).__name__}).") from None


def describe_messages(messages: list[dict[str, Any]]) -> str:
    return "; ".join(str(m.get("description") or m.get("validationCode") or "invalid") for m in messages)


def _consent(value: str | None) -> str | None:
    if value is None:
        return None
    return "GRANTED" if value.lower() == "granted" else "DENIED"


def _timestamp_micros(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def mp_payload(convs: list[OutgoingConversion]) -> dict[str, Any]:
    """One Measurement Protocol request for conversions sharing client id, consent and user data."""
    first = convs[0]
    events = []
    for conv in convs:
        params: dict[str, Any] = {"transaction_id": conv.key, "engagement_time_msec": 100}
        if conv.value_micros:  # GA4 needs currency whenever value is set
            params["value"] = conv.value_micros / 1_000_000  # the wire wants a JSON number
            params["currency"] = conv.currency or "USD"
        events.append(
            {"name": conv.action.id, "params": params, "timestamp_micros": _timestamp_micros(conv.occurred_at)}
        )
    payload: dict[str, Any] = {"client_id": first.ga_client_id, "events": events}
    consent = {
        k: v
        for k, v in (
            ("ad_user_data", _consent(first.consent_ad_user_data)),
            ("ad_personalization", _consent(first.consent_ad_personalization)),
        )
        if v
    }
    if consent:
        payload["consent"] = consent
    user_data = {}
    if first.email_sha256:
        user_data["sha256_email_address"] = [first.email_sha256]
    if first.phone_sha256:
        user_data["sha256_phone_number"] = [first.phone_sha256]
    if user_data:
        payload["user_data"] = user_data
    return payload
