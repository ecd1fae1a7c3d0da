"""The push engine's rules: the dedup key, backoff, the provider's time window, and the adapter's input.

The dedup key is the same on every attempt and in every process, so a resend after a crash is not a
double count at the provider. The window and the identifier rule are the provider's (its definition).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from typing import Any

from routy_app.models import ConversionMapping
from routy_app.providers import registry
from routy_app.providers.values import ConversionAction, OutgoingConversion

BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=6)
WINDOW_MARGIN = dt.timedelta(minutes=10)  # skip a little before the provider's own cut-off
# Dedup keys stay within 100 characters (GA4 limits parameter values to 100): keys already sent must
# never change, so this is fixed, and a provider with a shorter limit needs a migration plan.
DEDUP_KEY_LIMIT = 100


def dedup_key(traffic_source_id: int, external_id: str) -> str:
    """The provider dedup key of a conversion: stable across attempts, processes and providers."""
    key = f"{traffic_source_id}:{external_id}"
    if len(key) <= DEDUP_KEY_LIMIT:
        return key
    return f"{traffic_source_id}:h:{hashlib.sha256(external_id.encode('utf-8')).hexdigest()[:40]}"


def backoff(attempts: int, retry_after: float | None = None) -> dt.timedelta:
    """Delay before the next attempt: 1 min doubling per attempt, +-20 % jitter, capped at 6 h."""
    base = min(BACKOFF_CAP.total_seconds(), BACKOFF_FIRST.total_seconds() * 2 ** max(0, attempts - 1))
    delay = base * random.uniform(0.8, 1.2)
    if retry_after:
        delay = max(delay, retry_after)
    return dt.timedelta(seconds=min(delay, BACKOFF_CAP.total_seconds()))


def missing_identifier(provider: str, conv: OutgoingConversion) -> str | None:
    """Why the provider could not attribute this conversion, or None when it can (the provider's rule)."""
    return registry.get(provider).missing_identifier(conv)


def window_start(provider: str, now: dt.datetime) -> dt.datetime:
    """Conversions that occurred before this are outside the provider's window (with a safety margin)."""
    return now - registry.get(provider).push_window + WINDOW_MARGIN


def too_old(provider: str, conv: Any, now: dt.datetime, start: dt.datetime | None = None) -> str | None:
    if conv.occurred_at < (start or window_start(provider, now)):
        definition = registry.get(provider)
        return f"older than {definition.name}'s {definition.push_window_text} window"
    return None


def action_of(mapping: ConversionMapping) -> ConversionAction:
    return make_action(mapping.action_id, mapping.action_name, mapping.extra_json)


def make_action(action_id: str, name: str, extra_json: str | None) -> ConversionAction:
    return ConversionAction(id=action_id, name=name, extra=json.loads(extra_json or "{}"))


def outgoing(conv: Any, mapping: ConversionMapping | ConversionAction) -> OutgoingConversion:
    """The adapter's input for one conversion (a Conversion or a row with its columns) and its target."""
    action = mapping if isinstance(mapping, ConversionAction) else action_of(mapping)
    return OutgoingConversion(
        key=dedup_key(conv.traffic_source_id, conv.external_id),
        event_type=conv.event_type,
        action=action,
        occurred_at=conv.occurred_at,
        value_micros=conv.value_micros,
        currency=conv.currency,
        gclid=conv.gclid,
        gbraid=conv.gbraid,
        wbraid=conv.wbraid,
        fbc=conv.fbc,
        fbp=conv.fbp,
        ga_client_id=conv.ga_client_id,
        email_sha256=conv.email_sha256,
        phone_sha256=conv.phone_sha256,
        email_sha256_meta=conv.email_sha256_meta,
        phone_sha256_meta=conv.phone_sha256_meta,
        user_agent=conv.user_agent,
        ip=conv.ip,
        consent_ad_user_data=conv.consent_ad_user_data,
        consent_ad_personalization=conv.consent_ad_personalization,
        origin=conv.origin,
        external_id=conv.external_id,
    )
