"""What GA4's Measurement Protocol validation server says about a request (/debug/mp/collect).

Why its own module: these are the documented limits and reserved names of the Measurement Protocol (25
events, 40-character names, reserved event and parameter names and prefixes, 72 hours of back-dating,
consent values, SHA-256 user data). `/mp/collect` applies the same checks silently: a payload that fails
them is dropped without an error, as GA4 drops it.

The reserved names are written again in routy_app/providers/ga4.py on purpose: the emulator checks the
adapter, so it keeps its own copy of the provider's rules instead of importing the adapter's.
"""

from __future__ import annotations

import re
import time
from typing import Any

from routy_app.sandbox.core import jsonio

MEASUREMENT_ID_RE = re.compile(r"^G-[A-Z0-9]+$")
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED_EVENTS = frozenset(
    {
        "ad_activeview",
        "ad_click",
        "ad_exposure",
        "ad_impression",
        "ad_query",
        "ad_reward",
        "adunit_exposure",
        "app_background",
        "app_clear_data",
        "app_exception",
        "app_remove",
        "app_store_refund",
        "app_store_subscription_cancel",
        "app_store_subscription_convert",
        "app_store_subscription_renew",
        "app_update",
        "app_upgrade",
        "dynamic_link_app_open",
        "dynamic_link_app_update",
        "dynamic_link_first_open",
        "error",
        "firebase_campaign",
        "firebase_in_app_message_action",
        "firebase_in_app_message_dismiss",
        "firebase_in_app_message_impression",
        "first_open",
        "first_visit",
        "in_app_purchase",
        "notification_dismiss",
        "notification_foreground",
        "notification_open",
        "notification_receive",
        "notification_send",
        "os_update",
        "screen_view",
        "session_start",
        "user_engagement",
    }
)
RESERVED_PARAMS = frozenset({"firebase_conversion"})
RESERVED_PREFIXES = ("_", "ga_", "google_", "firebase_", "gtag.")
RESERVED_USER_PROPERTIES = frozenset(
    {"first_open_time", "first_visit_time", "last_deep_link_referrer", "user_id", "first_open_after_install"}
)
MAX_EVENTS = 25
MAX_PARAMS = 25
MAX_USER_PROPERTIES = 25
MAX_NAME = 40
MAX_PARAM_VALUE = 100
MAX_AGE_MICROS = 72 * 3600 * 1_000_000
MAX_BODY = 130 * 1024
CONSENT_VALUES = ("GRANTED", "DENIED")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TOP_FIELDS = {
    "client_id",
    "app_instance_id",
    "user_id",
    "timestamp_micros",
    "consent",
    "non_personalized_ads",
    "user_properties",
    "validation_behavior",
    "events",
    "user_location",
    "device",
    "ip_override",
    "user_data",
}


def validation_message(field_path: str, description: str, code: str) -> dict[str, str]:
    return {"fieldPath": field_path, "description": description, "validationCode": code}


def _name_problem(kind: str, index: str, name: Any, reserved: frozenset[str]) -> dict[str, str] | None:
    """NAME_INVALID / NAME_RESERVED for an event or parameter name, None when fine."""
    where = "events" if kind == "event" else f"events[{index}].params"
    if not isinstance(name, str) or not name:
        return validation_message(where, f"Event at index: [{index}] has a {kind} with no name.", "VALUE_REQUIRED")
    if len(name) > MAX_NAME:
        return validation_message(
            where,
            f"Event at index: [{index}] has {kind} name [{name}] longer than {MAX_NAME} characters.",
            "NAME_INVALID",
        )
    if not NAME_RE.match(name):
        return validation_message(
            where,
            f"Event at index: [{index}] has invalid {kind} name [{name}]. Names must start with "
            "an alphabetic character and contain only alphanumeric characters and underscores.",
            "NAME_INVALID",
        )
    if name in reserved or name.startswith(RESERVED_PREFIXES):
        return validation_message(
            where, f"Event at index: [{index}] has {kind} name [{name}] which is reserved.", "NAME_RESERVED"
        )
    return None


def validate_payload(query: dict[str, str], raw: bytes, now_micros: int | None = None) -> list[dict[str, str]]:
    """What /debug/mp/collect says about a request (empty list = valid). Never looks at api_secret."""
    messages: list[dict[str, str]] = []
    measurement_id = query.get("measurement_id")
    if not measurement_id and not query.get("firebase_app_id"):
        messages.append(
            validation_message(
                "measurement_id", "Measurement requires a measurement_id or firebase_app_id.", "VALUE_REQUIRED"
            )
        )
    elif measurement_id and not MEASUREMENT_ID_RE.match(measurement_id):
        messages.append(
            validation_message(
                "measurement_id",
                f"Measurement ID [{measurement_id}] is invalid. A measurement ID looks like G-XXXXXXXXXX.",
                "VALUE_INVALID",
            )
        )
    if len(raw) > MAX_BODY:
        return [*messages, validation_message("", f"Request body exceeds {MAX_BODY} bytes.", "VALUE_OUT_OF_BOUNDS")]
    try:
        body = jsonio.loads(raw or b"null")
    except ValueError as exc:
        return [
            *messages,
            validation_message("", f"Unable to parse Measurement Protocol JSON payload. {exc}", "VALUE_INVALID"),
        ]
    if not isinstance(body, dict):
        return [
            *messages,
            validation_message(
                "", "Unable to parse Measurement Protocol JSON payload. Expected a JSON object.", "VALUE_INVALID"
            ),
        ]
    unknown = sorted(set(body) - _TOP_FIELDS)
    if unknown:
        messages.append(
            validation_message(
                unknown[0],
                f"Unable to parse Measurement Protocol JSON payload. Cannot find field: {unknown[0]}.",
                "VALUE_INVALID",
            )
        )
    if not body.get("client_id") and not body.get("app_instance_id"):
        messages.append(validation_message("client_id", "Measurement requires a client_id.", "VALUE_REQUIRED"))
    now = now_micros if now_micros is not None else int(time.time() * 1_000_000)
    messages += _check_timestamp("timestamp_micros", body.get("timestamp_micros"), now)
    messages += _check_consent(body.get("consent"))
    messages += _check_user_data(body.get("user_data"))
    messages += _check_user_properties(body.get("user_properties"))
    events = body.get("events")
    if not isinstance(events, list) or not events:
        messages.append(validation_message("events", "Measurement requires at least one event.", "VALUE_REQUIRED"))
        return messages
    if len(events) > MAX_EVENTS:
        messages.append(
            validation_message(
                "events",
                f"Measurement has {len(events)} events, which exceeds the maximum of {MAX_EVENTS}.",
                "EXCEEDED_MAX_ENTITIES",
            )
        )
    for index, event in enumerate(events):
        messages += _check_event(index, event, now)
    return messages


def _check_timestamp(path: str, value: Any, now: int) -> list[dict[str, str]]:
    if value is None:
        return []
    try:
        micros = int(value)
    except (TypeError, ValueError):
        return [
            validation_message(path, f"Timestamp [{value}] is not a valid integer of microseconds.", "VALUE_INVALID")
        ]
    if micros < now - MAX_AGE_MICROS:
        return [
            validation_message(
                path,
                f"Measurement timestamp_micros [{micros}] is more than 72 hours in the past.",
                "VALUE_OUT_OF_BOUNDS",
            )
        ]
    if micros > now + 15 * 60 * 1_000_000:
        return [
            validation_message(
                path, f"Measurement timestamp_micros [{micros}] is in the future.", "VALUE_OUT_OF_BOUNDS"
            )
        ]
    return []


def _check_consent(consent: Any) -> list[dict[str, str]]:
    if consent is None:
        return []
    if not isinstance(consent, dict):
        return [validation_message("consent", "Consent must be an object.", "VALUE_INVALID")]
    out = []
    for key in ("ad_user_data", "ad_personalization"):
        value = consent.get(key)
        if value is not None and value not in CONSENT_VALUES:
            out.append(
                validation_message(
                    f"consent.{key}",
                    f"Consent value [{value}] for {key} is invalid. Allowed values are GRANTED and DENIED.",
                    "VALUE_INVALID",
                )
            )
    return out


def _check_user_data(user_data: Any) -> list[dict[str, str]]:
    if user_data is None:
        return []
    if not isinstance(user_data, dict):
        return [validation_message("user_data", "user_data must be an object.", "VALUE_INVALID")]
    out = []
    for key in ("sha256_email_address", "sha256_phone_number"):
        values = user_data.get(key)
        if values is None:
            continue
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str) or not _HEX64.match(value):
                out.append(
                    validation_message(
                        f"user_data.{key}", f"Value for {key} must be a hex-encoded SHA-256 digest.", "VALUE_INVALID"
                    )
                )
    return out


def _check_user_properties(props: Any) -> list[dict[str, str]]:
    if props is None:
        return []
    if not isinstance(props, dict):
        return [validation_message("user_properties", "user_properties must be an object.", "VALUE_INVALID")]
    out = []
    if len(props) > MAX_USER_PROPERTIES:
        out.append(
            validation_message(
                "user_properties",
                f"Measurement has more than {MAX_USER_PROPERTIES} user properties.",
                "EXCEEDED_MAX_ENTITIES",
            )
        )
    for name, prop in props.items():
        if len(name) > 24 or not NAME_RE.match(name):
            out.append(
                validation_message("user_properties", f"User property name [{name}] is invalid.", "NAME_INVALID")
            )
        elif name in RESERVED_USER_PROPERTIES or name.startswith(RESERVED_PREFIXES):
            out.append(
                validation_message("user_properties", f"User property name [{name}] is reserved.", "NAME_RESERVED")
            )
        value = prop.get("value") if isinstance(prop, dict) else None
        if isinstance(value, str) and len(value) > 36:
            out.append(
                validation_message(
                    f"user_properties.{name}",
                    f"User property [{name}] has a value longer than 36 characters.",
                    "VALUE_OUT_OF_BOUNDS",
                )
            )
    return out


def _check_event(index: int, event: Any, now: int) -> list[dict[str, str]]:
    if not isinstance(event, dict):
        return [validation_message("events", f"Event at index: [{index}] is not an object.", "VALUE_INVALID")]
    out = []
    problem = _name_problem("event", str(index), event.get("name"), RESERVED_EVENTS)
    if problem:
        out.append(problem)
    out += _check_timestamp(f"events[{index}].timestamp_micros", event.get("timestamp_micros"), now)
    params = event.get("params") or {}
    if not isinstance(params, dict):
        return [
            *out,
            validation_message(
                f"events[{index}].params",
                f"Event at index: [{index}] has params that are not an object.",
                "VALUE_INVALID",
            ),
        ]
    if len(params) > MAX_PARAMS:
        out.append(
            validation_message(
                f"events[{index}].params",
                f"Event at index: [{index}] has {len(params)} parameters, which exceeds the maximum of {MAX_PARAMS}.",
                "EXCEEDED_MAX_ENTITIES",
            )
        )
    for name, value in params.items():
        problem = _name_problem("parameter", str(index), name, RESERVED_PARAMS)
        if problem:
            out.append(problem)
        if isinstance(value, str) and len(value) > MAX_PARAM_VALUE:
            out.append(
                validation_message(
                    f"events[{index}].params.{name}",
                    f"Event at index: [{index}] has parameter [{name}] "
                    f"with a value longer than {MAX_PARAM_VALUE} "
                    "characters.",
                    "VALUE_OUT_OF_BOUNDS",
                )
            )
    return out
