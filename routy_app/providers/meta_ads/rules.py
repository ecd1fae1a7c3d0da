"""What Meta needs of a conversion and of a mapping, before anything is sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from routy_app.providers.errors import SetupFieldError
from routy_app.providers.meta_ads.capi import STANDARD_EVENTS
from routy_app.providers.values import ConversionAction, OutgoingConversion


def missing_identifier(conv: OutgoingConversion) -> str | None:
    """Why Meta could not match `conv` (no fbc/fbp, hashed email or phone, nor IP with user agent), else None."""
    if conv.fbc or conv.fbp or conv.email_sha256_meta or conv.phone_sha256_meta or (conv.ip and conv.user_agent):
        return None
    return "no fbc/fbp, email, phone or IP + user agent: Meta cannot match it"


def validate_mapping(
    action_id: str, extra: Mapping[str, str], live: Sequence[ConversionAction] | None
) -> tuple[str, dict[str, str]]:
    """A pixel (dataset) id and one of Meta's standard events."""
    action_id = action_id.strip()
    if not action_id.isdigit():
        raise SetupFieldError("action_id", "Choose a Meta pixel (dataset); its id is a number.")
    if extra.get("event_name") not in STANDARD_EVENTS:
        raise SetupFieldError(
            "event_name", "Choose the Meta standard event to send: " + ", ".join(STANDARD_EVENTS) + "."
        )
    return action_id, dict(extra)
