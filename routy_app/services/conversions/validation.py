"""Validating conversion events from outside (the ingest API, postbacks, the UI's test form): every field
checked, a clear message per field, never a 500; email and phone normalised and hashed here.

Privacy: email and phone are normalised and SHA-256 hashed (Google and Meta rules differ, so both hashes
are kept); the plaintext is never stored, logged or echoed back in an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from routy_app.errors import InvalidInput
from routy_app.providers import hashing
from routy_app.providers.values import CONVERSION_ORIGINS
from routy_app.services.conversions.text_checks import text_problem
from routy_app.timeutil import utcnow

API_KEY_PREFIX = "rk_live_"
MAX_BATCH = 1000
FUTURE_SKEW = dt.timedelta(minutes=5)  # clocks differ a little; further in the future is an error
MAX_VALUE = Decimal("1000000000000")  # 1e12 in any currency: beyond it the caller sent cents or garbage
EVENT_TYPE_RE = re.compile(r"[a-z0-9_]{1,64}")
CURRENCY_RE = re.compile(r"[A-Z]{3}")
CONSENT_VALUES = ("granted", "denied")
MICRO = Decimal(1_000_000)

CLICK_FIELDS = {"gclid": 512, "gbraid": 512, "wbraid": 512, "fbc": 512, "fbp": 512, "ga_client_id": 200}
ALLOWED_FIELDS = frozenset(
    {
        "id",
        "event_type",
        "occurred_at",
        "value",
        "currency",
        *CLICK_FIELDS,
        "email",
        "phone",
        "user_agent",
        "ip",
        "consent",
        "origin",
    }
)


# ---------------------------------------------------------------- errors


@dataclass(frozen=True)
class FieldError:
    """One problem: which event of the request (0 for a single event), which field, what is wrong."""

    index: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


def field_label(name: Any) -> str:
    """A field name as we may repeat it in an answer: a caller's odd key is shown escaped and short."""
    text = str(name)
    if len(text) <= 64 and text_problem(text) is None and text.isprintable():
        return text
    return repr(text)[:80]


class ValidationFailed(InvalidInput):
    """The request is refused as a whole (nothing stored); `errors` names every bad field."""

    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        super().__init__(message or _summary(errors))
        self.errors = errors


def _summary(errors: list[FieldError]) -> str:
    if not errors:
        return "The request is invalid."
    first = errors[0]
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    where = f"event {first.index}: " if first.index else ""
    return f"Invalid conversion: {where}{first.field}: {first.message}{more}. Nothing was stored."


# ---------------------------------------------------------------- validation


def parse_timestamp(value: Any, now: dt.datetime | None = None) -> tuple[dt.datetime | None, str | None]:
    """An aware UTC datetime from ISO 8601 with an offset, or the reason it is refused."""
    if not isinstance(value, str) or not value.strip():
        return None, "must be an ISO 8601 timestamp with a UTC offset, e.g. 2026-05-01T14:03:00Z"
    text = value.strip()
    try:
        moment = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None, f"{text[:40]!r} is not an ISO 8601 timestamp (e.g. 2026-05-01T14:03:00Z)"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None, "has no UTC offset; add Z or +hh:mm so the moment is unambiguous"
    try:
        moment = moment.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00, 9999-12-31T23:59-01:00: no such UTC moment
        return None, "is outside the years 1-9999 in UTC"
    if moment > (now or utcnow()) + FUTURE_SKEW:
        return None, "is in the future"
    if moment.year < 2000:
        return None, "is before the year 2000"
    return moment, None


def parse_value(value: Any) -> tuple[int | None, str | None]:
    """Integer micros from a decimal number or string (never through float), or the refusal reason."""
    if isinstance(value, bool) or value is None:
        return None, "must be a decimal number"
    if isinstance(value, float):  # only reached when a caller bypassed the Decimal JSON parser
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None, f"{str(value)[:40]!r} is not a decimal number"
    if not amount.is_finite():
        return None, "must be a finite number"
    if amount < 0:
        return None, "must not be negative"
    if amount >= MAX_VALUE:
        return None, "is too large"
    return int((amount * MICRO).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), None


def _text(value: Any, limit: int) -> tuple[str | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None, "must be a string"
    text = str(value).strip()
    if not text:
        return None, "must not be empty"
    if len(text) > limit:
        return None, f"is longer than {limit} characters"
    if problem := text_problem(text):
        return None, problem
    return text, None


def validate_event(raw: Any, index: int = 0, now: dt.datetime | None = None) -> tuple[dict[str, Any], list[FieldError]]:
    """Column values for a Conversion from one submitted event, plus every problem found."""
    errors: list[FieldError] = []

    def bad(field: str, message: str) -> None:
        errors.append(FieldError(index, field, message))

    if not isinstance(raw, Mapping):
        bad("event", "must be a JSON object")
        return {}, errors
    out: dict[str, Any] = {}
    for name in sorted(set(raw) - ALLOWED_FIELDS, key=str):
        bad(field_label(name), "unknown field")

    external_id, problem = _text(raw.get("id"), 200) if raw.get("id") not in (None, "") else (None, "is required")
    if problem:
        bad("id", problem)
    out["external_id"] = external_id

    event_type = raw.get("event_type")
    if event_type in (None, ""):
        bad("event_type", "is required")
    elif not isinstance(event_type, str) or not EVENT_TYPE_RE.fullmatch(event_type):
        bad("event_type", "must be 1-64 lowercase letters, digits or underscores (e.g. lead, sale, call)")
    out["event_type"] = event_type

    if raw.get("occurred_at") in (None, ""):
        bad("occurred_at", "is required")
    else:
        moment, problem = parse_timestamp(raw.get("occurred_at"), now)
        if problem:
            bad("occurred_at", problem)
        out["occurred_at"] = moment

    out["value_micros"] = 0
    has_value = raw.get("value") not in (None, "")
    if has_value:
        micros, problem = parse_value(raw.get("value"))
        if problem:
            bad("value", problem)
        out["value_micros"] = micros or 0
    currency = raw.get("currency")
    if currency in (None, ""):
        if has_value:
            bad("currency", "is required when value is given (ISO 4217 code, e.g. USD)")
        out["currency"] = ""
    elif not isinstance(currency, str) or not CURRENCY_RE.fullmatch(currency):
        bad("currency", "must be an ISO 4217 code of three uppercase letters, e.g. USD")
    else:
        out["currency"] = currency

    for name, limit in CLICK_FIELDS.items():
        if raw.get(name) in (None, ""):
            out[name] = None
            continue
        text, problem = _text(raw.get(name), limit)
        if problem:
            bad(name, problem)
        out[name] = text

    _validate_identifiers(raw, out, bad)
    _validate_device(raw, out, bad)
    _validate_consent(raw.get("consent"), out, bad)
    out["origin"] = None
    origin = raw.get("origin")
    if origin not in (None, ""):
        if not isinstance(origin, str) or origin.strip().lower() not in CONVERSION_ORIGINS:
            bad("origin", "must be one of " + ", ".join(CONVERSION_ORIGINS) + " (where the conversion happened)")
        else:
            out["origin"] = origin.strip().lower()
    return out, errors


def _validate_identifiers(raw: Mapping[str, Any], out: dict[str, Any], bad: Callable[[str, str], None]) -> None:
    """Hash email/phone now; the message never repeats the value (it is personal data)."""
    out["email_sha256"] = out["email_sha256_meta"] = None
    out["phone_sha256"] = out["phone_sha256_meta"] = None
    email = raw.get("email")
    if email not in (None, ""):
        if not isinstance(email, str) or len(email) > 320:
            bad("email", "must be a string of at most 320 characters")
        elif problem := text_problem(email):
            bad("email", problem)
        else:
            google, meta = hashing.hash_email_google(email), hashing.hash_email_meta(email)
            if google is None or meta is None:
                bad("email", "is not a valid email address (or SHA-256 hex of one)")
            out["email_sha256"], out["email_sha256_meta"] = google, meta
    phone = raw.get("phone")
    if phone not in (None, ""):
        if not isinstance(phone, str) or len(phone) > 64:
            bad("phone", "must be a string")
        elif problem := text_problem(phone):
            bad("phone", problem)
        else:
            google, meta = hashing.hash_phone_google(phone), hashing.hash_phone_meta(phone)
            if google is None or meta is None:
                bad(
                    "phone", "must be in E.164 format with the country code, e.g. +14155550123 (or SHA-256 hex of that)"
                )
            out["phone_sha256"], out["phone_sha256_meta"] = google, meta


def _validate_device(raw: Mapping[str, Any], out: dict[str, Any], bad: Callable[[str, str], None]) -> None:
    out["user_agent"] = out["ip"] = None
    if raw.get("user_agent") not in (None, ""):
        text, problem = _text(raw.get("user_agent"), 1000)
        if problem:
            bad("user_agent", problem)
        out["user_agent"] = text
    if raw.get("ip") not in (None, ""):
        try:
            address = ipaddress.ip_address(str(raw.get("ip")).strip())
        except ValueError:
            bad("ip", "is not an IPv4 or IPv6 address")
        else:
            if getattr(address, "scope_id", None):  # fe80::1%eth0: a zone is no client address
                bad("ip", "must not carry a zone (%...)")
            else:
                out["ip"] = str(address)


def _validate_consent(consent: Any, out: dict[str, Any], bad: Callable[[str, str], None]) -> None:
    out["consent_ad_user_data"] = out["consent_ad_personalization"] = None
    if consent is None:
        return
    if not isinstance(consent, Mapping):
        bad("consent", 'must be an object like {"ad_user_data": "granted", "ad_personalization": "denied"}')
        return
    for name in sorted(set(consent) - {"ad_user_data", "ad_personalization"}, key=str):
        bad(f"consent.{field_label(name)}", "unknown field")
    for name in ("ad_user_data", "ad_personalization"):
        value = consent.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or value.lower() not in CONSENT_VALUES:
            bad(f"consent.{name}", 'must be "granted" or "denied"')
        else:
            out[f"consent_{name}"] = value.lower()


# ---------------------------------------------------------------- postback


def postback_params(query: bytes) -> dict[str, str]:
    """A postback's raw query string as parameters (the last value of a repeated name wins, as in
    Starlette's QueryParams), decoded strictly: a name or value whose %-escapes are not UTF-8 is
    refused, naming it, instead of turning into U+FFFD (two different ids would become one, and the
    second conversion would be dropped as a duplicate)."""
    params: dict[str, str] = {}
    errors: list[FieldError] = []
    for raw_name, raw_value in parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        try:
            name = raw_name.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            errors.append(FieldError(0, field_label(raw_name.encode("latin-1")), "is not valid UTF-8"))
            continue
        try:
            params[name] = raw_value.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            errors.append(FieldError(0, field_label(name), "is not valid UTF-8 (check the %-escapes)"))
    if errors:
        raise ValidationFailed(errors)
    return params


def postback_event(params: Mapping[str, str], now: dt.datetime | None = None) -> dict[str, Any]:
    """Turn a tracker's postback query into an event object (validated later like any other).

    `click_id` goes to gclid or fbc by shape (Meta's fbc starts with "fb."), or as `click_id_type`
    says (gclid, gbraid, wbraid, fbc, fbp, ga_client_id). Without `id`, the id is a hash of
    key + event + click id + value + occurred_at, so a tracker firing the same URL twice is a
    duplicate; without occurred_at the minute of arrival stands in, so a retried fire within the
    minute is one conversion while a later, separate conversion is not swallowed as a duplicate.
    """
    allowed = {
        "key",
        "event",
        "click_id",
        "click_id_type",
        "value",
        "currency",
        "id",
        "occurred_at",
        "email",
        "phone",
        "user_agent",
        "ip",
        "origin",
        *CLICK_FIELDS,
    }
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValidationFailed([FieldError(0, field_label(name), "unknown parameter") for name in unknown])
    event: dict[str, Any] = {"event_type": params.get("event", "")}
    for name in ("value", "currency", "email", "phone", "user_agent", "ip", "origin", *CLICK_FIELDS):
        if params.get(name):
            event[name] = params[name]
    click_id = (params.get("click_id") or "").strip()
    if click_id:
        kind = (params.get("click_id_type") or "").strip().lower() or ("fbc" if click_id.startswith("fb.") else "gclid")
        if kind not in CLICK_FIELDS:
            raise ValidationFailed([FieldError(0, "click_id_type", "must be one of " + ", ".join(CLICK_FIELDS))])
        event[kind] = click_id
    arrived = now or utcnow()
    event["occurred_at"] = params.get("occurred_at") or arrived.isoformat()
    if params.get("id"):
        event["id"] = params["id"]
    else:
        when = params.get("occurred_at") or arrived.strftime("%Y-%m-%dT%H:%M")
        basis = "\x1f".join([params.get("key", ""), params.get("event", ""), click_id, params.get("value", ""), when])
        event["id"] = "pb_" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:40]
    return event
