"""Data Manager's own rules for an events:ingest request that its schema already accepted.

Why apart from the schema: `proto_json.parse` checks the request against Google's message types (names,
JSON types, enums); this module holds what the service checks on top, from its documentation: the
limits (2,000 events, 10 destinations, 10 identifiers), required fields the proto marks optional
(event_source for offline conversions since Data Manager v1.2, 2025-08-06), conversion actions that
must exist, be enabled, be UPLOAD_CLICKS and belong to the operating account, hash formats per
`encoding`, and the asynchronous processing verdicts. It reads the request in canonical proto3 JSON
(camelCase, enum names; an enum number the schema does not know stays a number and is refused here).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Any

from google.ads import datamanager_v1 as dm

from routy_app.sandbox.google import ads_data as gd

MAX_EVENTS = 2000  # the documented request limit (developers.google.com/data-manager/api/devguides/limits)
MAX_DESTINATIONS = 10
MAX_USER_IDENTIFIERS = 10
EVENT_MAX_AGE_DAYS = 90
CONSENT_VALUES = set(dm.ConsentStatus.__members__)
ACCOUNT_TYPES = set(dm.ProductAccount.AccountType.__members__) - {"ACCOUNT_TYPE_UNSPECIFIED"}
EVENT_SOURCES = set(dm.EventSource.__members__) - {"EVENT_SOURCE_UNSPECIFIED"}
ENCODINGS = set(dm.Encoding.__members__)
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
_HEX = re.compile(r"[0-9a-fA-F]*")


class Violations(list[dict[str, str]]):
    """google.rpc.BadRequest.fieldViolations being collected (snake_case proto paths, ErrorReason names)."""

    def add(self, field: str, description: str, reason: str | None = None) -> None:
        item = {"field": field, "description": description}
        if reason:
            item["reason"] = reason
        self.append(item)

    def bad_enum(self, field: str, proto_type: str, value: Any) -> None:
        """An enum number the schema does not name (proto3 enums are open, so the parser lets it through)."""
        self.add(
            field, f"Invalid value at '{field}' (type.googleapis.com/google.ads.datamanager.v1.{proto_type}), {value!r}"
        )


def parse_timestamp(value: Any) -> dt.datetime | None:
    """A google.protobuf.Timestamp in RFC 3339 (nanosecond fractions are cut to microseconds)."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value))
    except ValueError:
        return None


def _check_hash(value: str, encoding: str | None) -> str | None:
    """The ErrorReason for a hashed identifier that is not a SHA-256 in `encoding`, else None."""
    if encoding == "BASE64":
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return "INVALID_BASE64_ENCODING"
        return None if len(raw) == 32 else "INVALID_SHA256_FORMAT"
    if not _HEX.fullmatch(value):
        return "INVALID_HEX_ENCODING"
    return None if len(value) == 64 else "INVALID_SHA256_FORMAT"


def validate(body: dict[str, Any], seed: int) -> tuple[Violations, list[dict[str, Any]]]:
    """Fast-fail checks of a canonical IngestEventsRequest; also each destination's conversion action."""
    v = Violations()
    encoding = body.get("encoding")
    if encoding is not None and encoding not in ENCODINGS:
        v.bad_enum("encoding", "Encoding", encoding)
    _validate_consent(v, body.get("consent") or {}, "consent")
    destinations = body.get("destinations") or []
    actions: list[dict[str, Any]] = []
    if not destinations:
        v.add("destinations", "At least one destination is required.", "REQUIRED_FIELD_MISSING")
    elif len(destinations) > MAX_DESTINATIONS:
        v.add("destinations", f"Too many destinations: the maximum is {MAX_DESTINATIONS}.", "TOO_MANY_DESTINATIONS")
    references: set[str] = set()
    for i, dest in enumerate(destinations):
        actions.append(_validate_destination(v, dest, i, references, seed))
    events = body.get("events") or []
    if not events:
        v.add("events", "At least one event is required.", "REQUIRED_FIELD_MISSING")
        return v, actions
    if len(events) > MAX_EVENTS:
        v.add("events", f"Too many events in the request: the maximum is {MAX_EVENTS}.", "TOO_MANY_EVENTS")
        return v, actions
    needs_encoding = False
    for i, event in enumerate(events):
        needs_encoding |= _validate_event(v, event, f"events[{i}]", references, encoding)
    if needs_encoding and not encoding:
        v.add("encoding", "encoding is required when user data is sent.", "REQUIRED_FIELD_MISSING")
    return v, actions


def _validate_consent(v: Violations, consent: dict[str, Any], path: str) -> None:
    for key, snake in (("adUserData", "ad_user_data"), ("adPersonalization", "ad_personalization")):
        if key in consent and consent[key] not in CONSENT_VALUES:
            v.bad_enum(f"{path}.{snake}", "ConsentStatus", consent[key])


def _validate_account(v: Violations, account: dict[str, Any] | None, path: str) -> str | None:
    if account is None:
        v.add(path, "The account is required.", "REQUIRED_FIELD_MISSING")
        return None
    kind = account.get("accountType")
    if kind is not None and kind not in ACCOUNT_TYPES:
        v.bad_enum(f"{path}.account_type", "ProductAccount.AccountType", kind)
    elif kind not in (None, "GOOGLE_ADS"):
        v.add(f"{path}.account_type", "The sandbox emulates GOOGLE_ADS destinations only.", "INVALID_DESTINATION")
    account_id: str = account.get("accountId") or ""
    if not account_id:
        v.add(f"{path}.account_id", "The account ID is required.", "REQUIRED_FIELD_MISSING")
        return None
    if not account_id.isdigit():
        v.add(f"{path}.account_id", "String is not a valid number.", "INVALID_NUMBER_FORMAT")
        return None
    return account_id


def _validate_destination(
    v: Violations, dest: dict[str, Any], i: int, references: set[str], seed: int
) -> dict[str, Any]:
    path = f"destinations[{i}]"
    ref = dest.get("reference")
    if ref is not None:
        if ref in references:
            v.add(
                f"{path}.reference", f"Destination reference {ref!r} is used twice.", "DUPLICATE_DESTINATION_REFERENCE"
            )
        references.add(ref)
    operating = _validate_account(v, dest.get("operatingAccount"), f"{path}.operating_account")
    if dest.get("loginAccount") is not None:
        _validate_account(v, dest["loginAccount"], f"{path}.login_account")
    action_id = dest.get("productDestinationId")
    if not action_id:
        v.add(
            f"{path}.product_destination_id",
            "The conversion action ID is required for Google Ads conversions.",
            "REQUIRED_FIELD_MISSING",
        )
        return {}
    if operating is None:
        return {}
    # An account's own actions only: the operating account must be the customer that owns the action
    # (a manager is only ever the login account).
    found = next(
        (
            a
            for a in gd.owned_conversion_actions(seed, operating)
            if str(a["conversion_action.id"]) == action_id and a["conversion_action.status"] == "ENABLED"
        ),
        None,
    )
    if found is None:
        v.add(
            f"{path}.product_destination_id",
            f"Conversion action {action_id} does not exist, is not enabled or is not owned by operating account "
            f"{operating}.",
            "INVALID_CONVERSION_ACTION_ID",
        )
        return {}
    if found["conversion_action.type"] != "UPLOAD_CLICKS":
        v.add(
            f"{path}.product_destination_id",
            f"Conversion action {action_id} has type {found['conversion_action.type']}; only UPLOAD_CLICKS actions "
            "accept offline conversions.",
            "INVALID_CONVERSION_ACTION_TYPE",
        )
        return {}
    return found


def _validate_event(
    v: Violations, event: dict[str, Any], path: str, references: set[str], encoding: str | None
) -> bool:
    """Validate one event; True when it carries userData (so `encoding` is needed)."""
    if "eventTimestamp" not in event:
        v.add(f"{path}.event_timestamp", "event_timestamp is required.", "REQUIRED_FIELD_MISSING")
    for j, ref in enumerate(event.get("destinationReferences") or []):
        if ref not in references:
            v.add(
                f"{path}.destination_references[{j}]", f"No destination has reference {ref!r}.", "INVALID_DESTINATION"
            )
    currency = event.get("currency")
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        v.add(f"{path}.currency", f"{currency!r} is not an ISO 4217 currency code.", "INVALID_CURRENCY_CODE")
    source = event.get("eventSource")
    if source is None:  # every destination here is a Google Ads conversion action: an offline conversion
        v.add(
            f"{path}.event_source",
            "event_source is required for offline conversions and enhanced conversions "
            "for leads (WEB, APP, IN_STORE, PHONE, MESSAGE or OTHER).",
            "REQUIRED_FIELD_MISSING",
        )
    elif source not in EVENT_SOURCES:
        v.bad_enum(f"{path}.event_source", "EventSource", source)
    _validate_consent(v, event.get("consent") or {}, f"{path}.consent")
    ad_ids = event.get("adIdentifiers") or {}
    has_click = any(ad_ids.get(k) for k in ("gclid", "gbraid", "wbraid"))
    user_data = event.get("userData") or {}
    identifiers = user_data.get("userIdentifiers") or []
    if len(identifiers) > MAX_USER_IDENTIFIERS:
        v.add(
            f"{path}.user_data.user_identifiers",
            f"At most {MAX_USER_IDENTIFIERS} user identifiers per event.",
            "TOO_MANY_ELEMENTS",
        )
    for j, ident in enumerate(identifiers):
        ipath = f"{path}.user_data.user_identifiers[{j}]"
        keys = [k for k in ("emailAddress", "phoneNumber", "address") if ident.get(k)]
        if len(keys) != 1:  # the schema allows at most one (a oneof); an empty one is refused here
            v.add(
                ipath,
                "Each user identifier needs exactly one of email_address, phone_number or address.",
                "INVALID_FORMAT",
            )
            continue
        if keys[0] in ("emailAddress", "phoneNumber") and (reason := _check_hash(ident[keys[0]], encoding)):
            v.add(
                ipath,
                {
                    "INVALID_HEX_ENCODING": "The value is not hex encoded.",
                    "INVALID_BASE64_ENCODING": "The value is not base64 encoded.",
                    "INVALID_SHA256_FORMAT": "The value is not a SHA-256 hash.",
                }[reason],
                reason,
            )
    if not has_click and not identifiers:
        v.add(
            path,
            "The event has no ad identifiers (gclid, gbraid, wbraid) and no user identifiers.",
            "NO_IDENTIFIERS_PROVIDED",
        )
    return bool(user_data)


def processing_error(
    event: dict[str, Any], action_id: str, request_consent: dict[str, Any], seen: set[tuple[str, ...]]
) -> str | None:
    """The asynchronous verdict for one event at one destination (None = accepted)."""
    ad_ids = event.get("adIdentifiers") or {}
    click = ad_ids.get("gclid") or ad_ids.get("gbraid") or ad_ids.get("wbraid") or ""
    if str(click).lower().startswith(("bad", "unknown")):
        return "PROCESSING_ERROR_REASON_CLICK_NOT_FOUND"
    consent = {**(request_consent or {}), **(event.get("consent") or {})}
    if consent.get("adUserData") == "CONSENT_DENIED":
        return "PROCESSING_ERROR_REASON_DENIED_CONSENT"
    stamp = parse_timestamp(event.get("eventTimestamp"))
    if stamp and stamp < dt.datetime.now(dt.UTC) - dt.timedelta(days=EVENT_MAX_AGE_DAYS):
        return "PROCESSING_ERROR_REASON_EVENT_TOO_OLD"
    if event.get("transactionId"):
        key: tuple[str, ...] = ("tx", action_id, str(event["transactionId"]))
        reason = "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"
    else:
        key = ("click", action_id, str(click), str(event.get("eventTimestamp")))
        reason = "PROCESSING_ERROR_REASON_DUPLICATE_GCLID"
    if key in seen:
        return reason
    seen.add(key)
    return None
