"""Webhook: each conversion of a mapped event type as one HTTP request to a URL of the user's choosing.

Set up by hand (URL and body templates with macros, method, headers, optional basic/bearer auth and an
HMAC signing secret); push only, one request per conversion and mapping through the outbox. The sending,
signing, backoff and address guard are `routy_app.outbound`'s, shared with the alert webhooks. See
docs/providers/webhook.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from routy_app.providers.definition import (
    AuthScheme,
    Capability,
    DocLink,
    FieldKind,
    MappingField,
    MappingSpec,
    ProviderDefinition,
)
from routy_app.providers.errors import SetupFieldError
from routy_app.providers.values import ConversionAction
from routy_app.providers.webhook import setup

if TYPE_CHECKING:
    from routy_app.providers.context import ProviderContext
    from routy_app.providers.protocols import Provider

KEY = "webhook"
MAX_VALUE = Decimal("1000000000000")


def build(ctx: ProviderContext) -> Provider:
    from routy_app.providers.webhook.adapter import WebhookProvider

    return WebhookProvider(ctx.settings, ctx.http, ctx.retry)


def validate_mapping(
    action_id: str, extra: Mapping[str, str], live: Sequence[ConversionAction] | None
) -> tuple[str, dict[str, str]]:
    """A mapping only picks the event type (the action is the webhook itself); the value override, when
    given, is a decimal number."""
    raw = str(extra.get("value") or "").strip()
    if raw:
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise SetupFieldError("value", "The value override is a number such as 25 or 12.50.") from None
        if not value.is_finite() or value < 0 or value >= MAX_VALUE:
            raise SetupFieldError("value", "The value override is a number from 0 up to 1,000,000,000,000.")
        exponent = value.as_tuple().exponent  # an int for a finite number ('n'/'N'/'F' only for NaN and infinity)
        if isinstance(exponent, int) and exponent < -6:
            raise SetupFieldError("value", "At most 6 decimal places.")
        raw = format(value.normalize(), "f")
    return KEY, ({"value": raw} if raw else {})


DEFINITION = ProviderDefinition(
    key=KEY,
    name="Webhook",
    description="Send each conversion to any URL you choose: your template, method, headers, auth and signature.",
    logo="/logos/webhook.svg",
    auth=AuthScheme.MANUAL,
    capabilities=frozenset({Capability.PUSH}),
    build=build,
    setup_fields=setup.SETUP_FIELDS,
    setup_intro="Conversions of the event types you map are sent one request each to this URL. Macros such as "
    "{id}, {value} or {click_id} are filled in per conversion.",
    sandbox_setup_defaults=setup.sandbox_defaults,
    mapping=MappingSpec(
        action=None,
        extra=(
            MappingField(
                "value",
                "Value override",
                FieldKind.TEXT,
                required=False,
                description="Optional: send this value instead of the conversion's ({value}).",
                shown_as="{label} (value {value})",
            ),
        ),
        validate=validate_mapping,
    ),
    can_pull=lambda creds: False,
    push_batch_limit=1,
    push_window=dt.timedelta(days=30),
    push_paths=None,
    validation_note="A webhook has no validate-only mode: Test push really sends the request to your URL.",
    docs=(
        DocLink("HMAC: keyed hashing for message authentication (RFC 2104)", "https://www.rfc-editor.org/rfc/rfc2104"),
        DocLink("HTTP semantics: status codes and Retry-After (RFC 9110)", "https://www.rfc-editor.org/rfc/rfc9110"),
        DocLink(
            "The Idempotency-Key HTTP header field (IETF draft)",
            "https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/",
        ),
    ),
)
