"""Emulated Data Manager API v1: `events:ingest` (fast-fail validation) and `requestStatus:retrieve`.

Like the real service, one bad event rejects the whole request with a google.rpc BadRequest whose
field paths are snake_case (`events[1].user_data.user_identifiers[0]`); accepted requests answer
PROCESSING for a while and then SUCCESS / PARTIAL_SUCCESS with per-reason counts (duplicate
transaction IDs, unknown clicks, denied consent, too-old events).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import re
import secrets
import threading
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from routy_app.sandbox import google_ads_data as gd
from routy_app.sandbox.google_errors import check_auth, fault_response, rpc_error
from routy_app.sandbox.state import SandboxState

MAX_EVENTS = 2000
MAX_DESTINATIONS = 10
MAX_USER_IDENTIFIERS = 10
EVENT_MAX_AGE_DAYS = 90
CONSENT_VALUES = {"CONSENT_GRANTED", "CONSENT_DENIED", "CONSENT_STATUS_UNSPECIFIED"}
ACCOUNT_TYPES = {"GOOGLE_ADS", "DISPLAY_VIDEO_PARTNER", "DISPLAY_VIDEO_ADVERTISER", "DATA_PARTNER",
                 "GOOGLE_ANALYTICS_PROPERTY", "GOOGLE_AD_MANAGER_AUDIENCE_LINK", "FLOODLIGHT_CONFIG"}
EVENT_SOURCES = {"EVENT_SOURCE_UNSPECIFIED", "WEB", "APP", "IN_STORE", "PHONE", "MESSAGE", "OTHER"}
REQUEST_KEYS = {"destinations", "events", "consent", "encoding", "validateOnly", "encryptionInfo"}
DESTINATION_KEYS = {"reference", "loginAccount", "linkedAccount", "operatingAccount", "productDestinationId"}
EVENT_KEYS = {"destinationReferences", "transactionId", "eventTimestamp", "lastUpdatedTimestamp", "userData",
              "consent", "adIdentifiers", "currency", "conversionValue", "eventSource", "eventDeviceInfo",
              "cartData", "customVariables", "experimentalFields", "userProperties", "conversionCount", "eventName"}
AD_ID_KEYS = {"gclid", "gbraid", "wbraid", "sessionAttributes", "landingPageDeviceInfo"}
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
_HEX = re.compile(r"[0-9a-fA-F]*")


class _Violations(list):
    """BadRequest.fieldViolations being collected."""

    def add(self, field: str, description: str, reason: str | None = None) -> None:
        item = {"field": field, "description": description}
        if reason:
            item["reason"] = reason
        self.append(item)

    def bad_enum(self, field: str, proto_type: str, value: Any) -> None:
        self.add(field, f"Invalid value at '{field}' (type.googleapis.com/google.ads.datamanager.v1.{proto_type}), "
                        f"{value!r}")

    def unknown_keys(self, obj: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in sorted(set(obj) - allowed):
            at = f" at '{where}'" if where else ""
            self.add(where, f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.')


def _parse_timestamp(value: Any) -> dt.datetime | None:
    """A google.protobuf.Timestamp in RFC 3339 (nanosecond fractions are cut to microseconds)."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value))
    except ValueError:
        return None


def _check_hash(value: Any, encoding: str | None) -> str | None:
    """The ErrorReason for a hashed identifier that is not a SHA-256 in `encoding`, else None."""
    if not isinstance(value, str) or not value:
        return "INVALID_FORMAT"
    if encoding == "BASE64":
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return "INVALID_BASE64_ENCODING"
        return None if len(raw) == 32 else "INVALID_SHA256_FORMAT"
    if not _HEX.fullmatch(value):
        return "INVALID_HEX_ENCODING"
    return None if len(value) == 64 else "INVALID_SHA256_FORMAT"


def _validate(body: dict[str, Any], seed: int) -> tuple[_Violations, list[dict[str, Any]]]:
    """Fast-fail validation of an IngestEventsRequest; also returns each destination's conversion action."""
    v = _Violations()
    v.unknown_keys(body, REQUEST_KEYS, "")
    encoding = body.get("encoding")
    if encoding is not None and encoding not in ("HEX", "BASE64", "ENCODING_UNSPECIFIED"):
        v.bad_enum("encoding", "Encoding", encoding)
    _validate_consent(v, body.get("consent"), "consent")
    destinations = body.get("destinations")
    actions: list[dict[str, Any]] = []
    if not isinstance(destinations, list) or not destinations:
        v.add("destinations", "At least one destination is required.", "REQUIRED_FIELD_MISSING")
        destinations = []
    elif len(destinations) > MAX_DESTINATIONS:
        v.add("destinations", f"Too many destinations: the maximum is {MAX_DESTINATIONS}.", "TOO_MANY_DESTINATIONS")
    references: set[str] = set()
    for i, dest in enumerate(destinations):
        actions.append(_validate_destination(v, dest, i, references, seed))
    events = body.get("events")
    if not isinstance(events, list) or not events:
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


def _validate_consent(v: _Violations, consent: Any, path: str) -> None:
    if consent is None:
        return
    if not isinstance(consent, dict):
        v.add(path, f"Invalid value at '{path}': expected an object.")
        return
    v.unknown_keys(consent, {"adUserData", "adPersonalization"}, path)
    for key, snake in (("adUserData", "ad_user_data"), ("adPersonalization", "ad_personalization")):
        if key in consent and consent[key] not in CONSENT_VALUES:
            v.bad_enum(f"{path}.{snake}", "ConsentStatus", consent[key])


def _validate_account(v: _Violations, account: Any, path: str) -> str | None:
    if not isinstance(account, dict):
        v.add(path, "The account is required.", "REQUIRED_FIELD_MISSING")
        return None
    v.unknown_keys(account, {"accountType", "accountId", "product"}, path)
    kind = account.get("accountType")
    if kind is not None and kind not in ACCOUNT_TYPES:
        v.bad_enum(f"{path}.account_type", "ProductAccount.AccountType", kind)
    elif kind not in (None, "GOOGLE_ADS"):
        v.add(f"{path}.account_type", "The sandbox emulates GOOGLE_ADS destinations only.", "INVALID_DESTINATION")
    account_id = account.get("accountId")
    if not account_id:
        v.add(f"{path}.account_id", "The account ID is required.", "REQUIRED_FIELD_MISSING")
        return None
    if not isinstance(account_id, str) or not account_id.isdigit():
        v.add(f"{path}.account_id", "String is not a valid number.", "INVALID_NUMBER_FORMAT")
        return None
    return account_id


def _validate_destination(v: _Violations, dest: Any, i: int, references: set[str], seed: int) -> dict[str, Any]:
    path = f"destinations[{i}]"
    if not isinstance(dest, dict):
        v.add(path, "A destination must be an object.", "INVALID_DESTINATION")
        return {}
    v.unknown_keys(dest, DESTINATION_KEYS, path)
    ref = dest.get("reference")
    if ref is not None:
        if ref in references:
            v.add(f"{path}.reference", f"Destination reference {ref!r} is used twice.", "DUPLICATE_DESTINATION_REFERENCE")
        references.add(str(ref))
    operating = _validate_account(v, dest.get("operatingAccount"), f"{path}.operating_account")
    if dest.get("loginAccount") is not None:
        _validate_account(v, dest.get("loginAccount"), f"{path}.login_account")
    action_id = dest.get("productDestinationId")
    if not action_id:
        v.add(f"{path}.product_destination_id", "The conversion action ID is required for Google Ads conversions.",
              "REQUIRED_FIELD_MISSING")
        return {}
    if operating is None:
        return {}
    found = next((a for a in gd.conversion_actions(seed, operating)
                  if str(a["conversion_action.id"]) == str(action_id) and a["conversion_action.status"] == "ENABLED"), None)
    if found is None:
        v.add(f"{path}.product_destination_id",
              f"Conversion action {action_id} does not exist or is not enabled in account {operating}.",
              "INVALID_CONVERSION_ACTION_ID")
        return {}
    if found["conversion_action.type"] != "UPLOAD_CLICKS":
        v.add(f"{path}.product_destination_id",
              f"Conversion action {action_id} has type {found['conversion_action.type']}; only UPLOAD_CLICKS actions "
              "accept offline conversions.", "INVALID_CONVERSION_ACTION_TYPE")
        return {}
    return found


def _validate_event(v: _Violations, event: Any, path: str, references: set[str], encoding: str | None) -> bool:
    """Validate one event; True when it carries userData (so `encoding` is needed)."""
    if not isinstance(event, dict):
        v.add(path, "An event must be an object.", "INVALID_EVENT")
        return False
    v.unknown_keys(event, EVENT_KEYS, path)
    stamp = event.get("eventTimestamp")
    if stamp is None:
        v.add(f"{path}.event_timestamp", "event_timestamp is required.", "REQUIRED_FIELD_MISSING")
    elif _parse_timestamp(stamp) is None:
        v.add(f"{path}.event_timestamp", f"Invalid value at '{path}.event_timestamp' (type.googleapis.com/"
                                         f"google.protobuf.Timestamp), {stamp!r}: timestamps must be RFC 3339 and end "
                                         "with 'Z' or an offset.")
    for j, ref in enumerate(event.get("destinationReferences") or []):
        if ref not in references:
            v.add(f"{path}.destination_references[{j}]", f"No destination has reference {ref!r}.", "INVALID_DESTINATION")
    currency = event.get("currency")
    if currency is not None and not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
        v.add(f"{path}.currency", f"{currency!r} is not an ISO 4217 currency code.", "INVALID_CURRENCY_CODE")
    value = event.get("conversionValue")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        try:
            float(value)
        except (TypeError, ValueError):
            v.add(f"{path}.conversion_value", f"Invalid value at '{path}.conversion_value' (TYPE_DOUBLE), {value!r}")
    if event.get("eventSource") is not None and event["eventSource"] not in EVENT_SOURCES:
        v.bad_enum(f"{path}.event_source", "EventSource", event["eventSource"])
    _validate_consent(v, event.get("consent"), f"{path}.consent")
    ad_ids = event.get("adIdentifiers") or {}
    has_click = False
    if isinstance(ad_ids, dict):
        v.unknown_keys(ad_ids, AD_ID_KEYS, f"{path}.ad_identifiers")
        has_click = any(ad_ids.get(k) for k in ("gclid", "gbraid", "wbraid"))
    user_data = event.get("userData")
    identifiers = (user_data or {}).get("userIdentifiers") or [] if isinstance(user_data, dict) else []
    if len(identifiers) > MAX_USER_IDENTIFIERS:
        v.add(f"{path}.user_data.user_identifiers", f"At most {MAX_USER_IDENTIFIERS} user identifiers per event.",
              "TOO_MANY_ELEMENTS")
    for j, ident in enumerate(identifiers):
        ipath = f"{path}.user_data.user_identifiers[{j}]"
        keys = [k for k in ("emailAddress", "phoneNumber", "address") if isinstance(ident, dict) and ident.get(k)]
        if len(keys) != 1:
            v.add(ipath, "Each user identifier needs exactly one of email_address, phone_number or address.",
                  "INVALID_FORMAT")
            continue
        if keys[0] in ("emailAddress", "phoneNumber") and (reason := _check_hash(ident[keys[0]], encoding)):
            v.add(ipath, {"INVALID_HEX_ENCODING": "The value is not hex encoded.",
                          "INVALID_BASE64_ENCODING": "The value is not base64 encoded.",
                          "INVALID_SHA256_FORMAT": "The value is not a SHA-256 hash.",
                          "INVALID_FORMAT": "The value is empty."}[reason], reason)
    if not has_click and not identifiers:
        v.add(path, "The event has no ad identifiers (gclid, gbraid, wbraid) and no user identifiers.",
              "NO_IDENTIFIERS_PROVIDED")
    return bool(user_data)


async def _stall(request: Request, seconds: float) -> None:
    """Hold the answer back (a timeout or a caller that dies mid-request, as seen by the provider)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline and not await request.is_disconnected():
        await asyncio.sleep(0.05)


def _processing_error(event: dict[str, Any], action_id: str, request_consent: dict[str, Any],
                      seen: set[tuple[str, ...]]) -> str | None:
    """The asynchronous verdict for one event at one destination (None = accepted)."""
    ad_ids = event.get("adIdentifiers") or {}
    click = ad_ids.get("gclid") or ad_ids.get("gbraid") or ad_ids.get("wbraid") or ""
    if str(click).lower().startswith(("bad", "unknown")):
        return "PROCESSING_ERROR_REASON_CLICK_NOT_FOUND"
    consent = {**(request_consent or {}), **(event.get("consent") or {})}
    if consent.get("adUserData") == "CONSENT_DENIED":
        return "PROCESSING_ERROR_REASON_DENIED_CONSENT"
    stamp = _parse_timestamp(event.get("eventTimestamp"))
    if stamp and stamp < dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=EVENT_MAX_AGE_DAYS):
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


def routes(state: SandboxState) -> list[BaseRoute]:
    def memory() -> dict[str, Any]:
        return state.extra.setdefault("datamanager", {"requests": {}, "seen": set(), "lock": threading.Lock()})

    async def ingest(request: Request) -> Response:
        fault = state.faults.take("datamanager.ingest")
        answer_lost = fault is not None and fault.condition == "answer_lost"
        if fault is not None and not answer_lost:
            return fault_response(fault, "datamanager")
        if (denied := check_auth(state, request, "datamanager")) is not None:
            return denied
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return rpc_error(400, "Invalid JSON payload received.", reason="INVALID_ARGUMENT")
        violations, actions = _validate(body, state.config.seed)
        if violations:
            return rpc_error(400, "There was a problem with the request.", reason="INVALID_ARGUMENT",
                             field_violations=violations)
        for i, dest in enumerate(body["destinations"]):
            operating = dest["operatingAccount"]["accountId"]
            login = (dest.get("loginAccount") or {}).get("accountId")
            if not gd.can_access(operating, login):
                return rpc_error(403, f"The caller does not have permission to access operating account {operating} "
                                      f"(destinations[{i}]); set login_account to the manager it is reached through.",
                                 reason="PERMISSION_DENIED")
        request_id = secrets.token_hex(16)
        if body.get("validateOnly"):
            return JSONResponse({"requestId": request_id})  # never stored: not usable for status lookups
        _accept(body, actions, request_id)
        if answer_lost:  # ingested, but the caller hears nothing until `seconds` pass or it hangs up
            fault.in_effect.set()  # type: ignore[union-attr]
            await _stall(request, float(fault.params.get("seconds", 60)))  # type: ignore[union-attr]
        return JSONResponse({"requestId": request_id})

    def _accept(body: dict[str, Any], actions: list[dict[str, Any]], request_id: str) -> None:
        mem = memory()
        destinations = body["destinations"]
        per_dest = [{"destination": d, "count": 0, "errors": Counter()} for d in destinations]
        recorded = []
        with mem["lock"]:
            for event in body["events"]:
                refs = event.get("destinationReferences") or [d.get("reference") for d in destinations]
                for slot, dest, action in zip(per_dest, destinations, actions):
                    if dest.get("reference") not in refs:
                        continue
                    action_id = str(dest["productDestinationId"])
                    error = _processing_error(event, action_id, body.get("consent") or {}, mem["seen"])
                    slot["count"] += 1
                    if error:
                        slot["errors"][error] += 1
                    ad_ids = event.get("adIdentifiers") or {}
                    recorded.append({
                        "api": "datamanager", "requestId": request_id,
                        "destination": {"operatingAccount": dest["operatingAccount"]["accountId"],
                                        "loginAccount": (dest.get("loginAccount") or {}).get("accountId"),
                                        "productDestinationId": action_id,
                                        "conversionAction": action.get("conversion_action.name")},
                        "transactionId": event.get("transactionId"), "gclid": ad_ids.get("gclid"),
                        "gbraid": ad_ids.get("gbraid"), "wbraid": ad_ids.get("wbraid"),
                        "eventTimestamp": event.get("eventTimestamp"), "conversionValue": event.get("conversionValue"),
                        "currency": event.get("currency"),
                        "userIdentifiers": (event.get("userData") or {}).get("userIdentifiers") or [],
                        "consent": event.get("consent") or body.get("consent"),
                        "dedupKey": event.get("transactionId") or f"{ad_ids.get('gclid')}|{event.get('eventTimestamp')}",
                        "processingError": error,
                    })
            mem["requests"][request_id] = {"polls": 0, "destinations": per_dest, "forced": None}
        for item in recorded:
            state.record("google_ads", item)

    async def request_status(request: Request) -> Response:
        fault = state.faults.take("datamanager.status")
        forced = None
        if fault is not None and fault.condition == "partial_failure":
            forced = Counter({str(fault.params.get("reason", "PROCESSING_ERROR_REASON_EVENT_TOO_OLD")):
                              int(fault.params.get("count", 1))})
        elif fault is not None:
            return fault_response(fault, "datamanager")
        if (denied := check_auth(state, request, "datamanager")) is not None:
            return denied
        request_id = request.query_params.get("requestId", "")
        mem = memory()
        with mem["lock"]:
            stored = mem["requests"].get(request_id)
            if stored is None:
                return rpc_error(400, "There was a problem with the request.", reason="INVALID_ARGUMENT",
                                 field_violations=[{"field": "request_id", "reason": "INVALID_REQUEST_ID",
                                                    "description": "The request ID is not valid."}])
            if forced is not None:
                stored["forced"] = forced
            stored["polls"] += 1
            processing = stored["polls"] <= state.config.verdict_after_polls and stored["forced"] is None
            entries = [_status_entry(slot, processing, stored["forced"]) for slot in stored["destinations"]]
        return JSONResponse({"requestStatusPerDestination": entries})

    return [
        Route("/v1/events:ingest", ingest, methods=["POST"]),
        Route("/v1/requestStatus:retrieve", request_status, methods=["GET"]),
    ]


def _status_entry(slot: dict[str, Any], processing: bool, forced: Counter | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"destination": slot["destination"],
                             "eventsIngestionStatus": {"recordCount": str(slot["count"])}}
    if processing:
        entry["requestStatus"] = "PROCESSING"
        return entry
    errors: Counter = forced if forced is not None else slot["errors"]
    failed = sum(errors.values())
    if not failed:
        entry["requestStatus"] = "SUCCESS"
        return entry
    entry["requestStatus"] = "FAILED" if failed >= slot["count"] and forced is None else "PARTIAL_SUCCESS"
    entry["errorInfo"] = {"errorCounts": [{"recordCount": str(n), "reason": reason}
                                          for reason, n in sorted(errors.items())]}
    return entry
