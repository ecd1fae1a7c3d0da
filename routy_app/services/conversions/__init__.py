"""Conversions in: validation of outside input, idempotent storage queued for push, ingest API keys, and
the Conversions tab's list."""

from __future__ import annotations

from routy_app.services.conversions.api_keys import create_api_key, describe_key, source_for_key
from routy_app.services.conversions.ingest import StoredEvent, ingest_events, queued_counts, record_test_conversion
from routy_app.services.conversions.listing import ConversionRow, recent_conversions
from routy_app.services.conversions.validation import (
    ALLOWED_FIELDS,
    CLICK_FIELDS,
    FieldError,
    ValidationFailed,
    parse_timestamp,
    parse_value,
    postback_event,
    postback_params,
    validate_event,
)

__all__ = [
    "ALLOWED_FIELDS",
    "CLICK_FIELDS",
    "ConversionRow",
    "FieldError",
    "StoredEvent",
    "ValidationFailed",
    "create_api_key",
    "describe_key",
    "ingest_events",
    "parse_timestamp",
    "parse_value",
    "postback_event",
    "postback_params",
    "queued_counts",
    "recent_conversions",
    "record_test_conversion",
    "source_for_key",
    "validate_event",
]
