"""GA4 emulator: Measurement Protocol (/ga/mp/collect, /ga/debug/mp/collect) and Data API runReport.

Why: Routy pushes conversions with the Measurement Protocol and pulls sessions/revenue with the
Data API. Both are emulated to the wire contract of PROVIDERS.md §3: `/mp/collect` always answers
204 with an empty body (a wrong secret or a bad payload is dropped silently), the validation
server answers 200 `{"validationMessages":[...]}` and never checks the api secret, and runReport
answers the google-analytics-data REST shape (string values, YYYYMMDD dates, offset paging,
`rows` absent when empty). runReport requests are parsed with Google's own RunReportRequest type and
answers built through RunReportResponse (sandbox/core/proto_json.py), in the enum encoding asked for. Report rows are computed on the fly from sandbox/core/data.py, so a
benchmark can page through a million rows without the sandbox holding them.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import re
import time
import zoneinfo
from dataclasses import dataclass
from typing import Any

from google.analytics.data_v1beta.types import RunReportRequest, RunReportResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from routy_app.sandbox.core import data, proto_json
from routy_app.sandbox.core.faults import Fault
from routy_app.sandbox.core.state import SandboxState

DEMO_MEASUREMENT_ID = "G-ROUTY12345"
DEMO_API_SECRET = "sandbox-mp-secret"
DEMO_PROPERTY_ID = "123456789"

# ---------------------------------------------------------------- streams (what the sandbox "owns")


@dataclass
class Stream:
    """A GA4 web data stream with its Measurement Protocol secret and the property it belongs to."""

    measurement_id: str
    api_secret: str
    property_id: str
    currency: str = "USD"
    timezone: str = "America/New_York"


def _ga4(state: SandboxState) -> dict[str, Any]:
    """The GA4 part of the sandbox memory, seeded with the demo stream on first use."""
    with state.lock:
        part = state.extra.get("ga4")
        if part is None:
            demo = Stream(DEMO_MEASUREMENT_ID, DEMO_API_SECRET, DEMO_PROPERTY_ID)
            part = {"streams": {demo.measurement_id: demo}, "purchases": {}, "seen": set()}
            state.extra["ga4"] = part
        return part


def add_stream(state: SandboxState, stream: Stream) -> None:
    """Register another stream/property (tests and demos with several GA4 properties)."""
    _ga4(state)["streams"][stream.measurement_id] = stream


def _property(state: SandboxState, property_id: str) -> Stream | None:
    for stream in _ga4(state)["streams"].values():
        if stream.property_id == property_id:
            return stream
    return None


# ---------------------------------------------------------------- Google error shapes and faults

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def google_error(code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The standard google.rpc error body every Google REST API answers with."""
    return JSONResponse(
        {"error": {"code": code, "message": message, "status": _STATUS.get(code, "UNKNOWN")}},
        status_code=code,
        headers=headers,
    )


def _fault_response(fault: Fault) -> Response:
    """Turn an injected fault into the Google-shaped error (or garbage) it names."""
    condition = fault.condition
    retry_after = fault.params.get("retry_after")
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if condition == "http_500":
        return google_error(500, "Internal error encountered.")
    if condition == "http_503":
        return google_error(503, "The service is currently unavailable.", headers)
    if condition == "quota_429":
        return google_error(
            429,
            fault.params.get("message")
            or "Exhausted property tokens per hour for a project "
            "per property. This property's quota will be refreshed in under an hour.",
            headers,
        )
    if condition == "unauthenticated":
        return google_error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential. See "
            "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        )
    if condition == "permission_denied":
        return google_error(
            403,
            "User does not have sufficient permissions for this property. To learn more "
            "about Property ID, see https://developers.google.com/analytics/devguides/reporting/"
            "data/v1/property-id.",
        )
    if condition == "invalid_argument":
        return google_error(400, fault.params.get("message") or "Request contains an invalid argument.")
    if condition == "validation_messages":  # a 200 from the validation server carrying messages
        return JSONResponse(
            {
                "validationMessages": fault.params.get("messages")
                or [
                    _msg(
                        "measurement_id",
                        "Measurement ID [G-XXXX] does not belong to a web data stream.",
                        "VALUE_INVALID",
                    )
                ]
            }
        )
    if condition == "malformed":
        return Response("<html><body>502 Bad Gateway</body></html>", status_code=200, media_type="text/html")
    return google_error(500, f"sandbox: unknown fault condition {condition!r}")


# ---------------------------------------------------------------- Measurement Protocol validation

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


def _msg(field_path: str, description: str, code: str) -> dict[str, str]:
    return {"fieldPath": field_path, "description": description, "validationCode": code}


def _name_problem(kind: str, index: str, name: Any, reserved: frozenset[str]) -> dict[str, str] | None:
    """NAME_INVALID / NAME_RESERVED for an event or parameter name, None when fine."""
    where = "events" if kind == "event" else f"events[{index}].params"
    if not isinstance(name, str) or not name:
        return _msg(where, f"Event at index: [{index}] has a {kind} with no name.", "VALUE_REQUIRED")
    if len(name) > MAX_NAME:
        return _msg(
            where,
            f"Event at index: [{index}] has {kind} name [{name}] longer than {MAX_NAME} characters.",
            "NAME_INVALID",
        )
    if not NAME_RE.match(name):
        return _msg(
            where,
            f"Event at index: [{index}] has invalid {kind} name [{name}]. Names must start with "
            "an alphabetic character and contain only alphanumeric characters and underscores.",
            "NAME_INVALID",
        )
    if name in reserved or name.startswith(RESERVED_PREFIXES):
        return _msg(where, f"Event at index: [{index}] has {kind} name [{name}] which is reserved.", "NAME_RESERVED")
    return None


def validate_payload(query: dict[str, str], raw: bytes, now_micros: int | None = None) -> list[dict[str, str]]:
    """What /debug/mp/collect says about a request (empty list = valid). Never looks at api_secret."""
    messages: list[dict[str, str]] = []
    measurement_id = query.get("measurement_id")
    if not measurement_id and not query.get("firebase_app_id"):
        messages.append(
            _msg("measurement_id", "Measurement requires a measurement_id or firebase_app_id.", "VALUE_REQUIRED")
        )
    elif measurement_id and not MEASUREMENT_ID_RE.match(measurement_id):
        messages.append(
            _msg(
                "measurement_id",
                f"Measurement ID [{measurement_id}] is invalid. A measurement ID looks like G-XXXXXXXXXX.",
                "VALUE_INVALID",
            )
        )
    if len(raw) > MAX_BODY:
        return [*messages, _msg("", f"Request body exceeds {MAX_BODY} bytes.", "VALUE_OUT_OF_BOUNDS")]
    try:
        body = json.loads(raw or b"null")
    except ValueError as exc:
        return [*messages, _msg("", f"Unable to parse Measurement Protocol JSON payload. {exc}", "VALUE_INVALID")]
    if not isinstance(body, dict):
        return [
            *messages,
            _msg("", "Unable to parse Measurement Protocol JSON payload. Expected a JSON object.", "VALUE_INVALID"),
        ]
    unknown = sorted(set(body) - _TOP_FIELDS)
    if unknown:
        messages.append(
            _msg(
                unknown[0],
                f"Unable to parse Measurement Protocol JSON payload. Cannot find field: {unknown[0]}.",
                "VALUE_INVALID",
            )
        )
    if not body.get("client_id") and not body.get("app_instance_id"):
        messages.append(_msg("client_id", "Measurement requires a client_id.", "VALUE_REQUIRED"))
    now = now_micros if now_micros is not None else int(time.time() * 1_000_000)
    messages += _check_timestamp("timestamp_micros", body.get("timestamp_micros"), now)
    messages += _check_consent(body.get("consent"))
    messages += _check_user_data(body.get("user_data"))
    messages += _check_user_properties(body.get("user_properties"))
    events = body.get("events")
    if not isinstance(events, list) or not events:
        messages.append(_msg("events", "Measurement requires at least one event.", "VALUE_REQUIRED"))
        return messages
    if len(events) > MAX_EVENTS:
        messages.append(
            _msg(
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
        return [_msg(path, f"Timestamp [{value}] is not a valid integer of microseconds.", "VALUE_INVALID")]
    if micros < now - MAX_AGE_MICROS:
        return [
            _msg(
                path,
                f"Measurement timestamp_micros [{micros}] is more than 72 hours in the past.",
                "VALUE_OUT_OF_BOUNDS",
            )
        ]
    if micros > now + 15 * 60 * 1_000_000:
        return [_msg(path, f"Measurement timestamp_micros [{micros}] is in the future.", "VALUE_OUT_OF_BOUNDS")]
    return []


def _check_consent(consent: Any) -> list[dict[str, str]]:
    if consent is None:
        return []
    if not isinstance(consent, dict):
        return [_msg("consent", "Consent must be an object.", "VALUE_INVALID")]
    out = []
    for key in ("ad_user_data", "ad_personalization"):
        value = consent.get(key)
        if value is not None and value not in CONSENT_VALUES:
            out.append(
                _msg(
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
        return [_msg("user_data", "user_data must be an object.", "VALUE_INVALID")]
    out = []
    for key in ("sha256_email_address", "sha256_phone_number"):
        values = user_data.get(key)
        if values is None:
            continue
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str) or not _HEX64.match(value):
                out.append(
                    _msg(f"user_data.{key}", f"Value for {key} must be a hex-encoded SHA-256 digest.", "VALUE_INVALID")
                )
    return out


def _check_user_properties(props: Any) -> list[dict[str, str]]:
    if props is None:
        return []
    if not isinstance(props, dict):
        return [_msg("user_properties", "user_properties must be an object.", "VALUE_INVALID")]
    out = []
    if len(props) > MAX_USER_PROPERTIES:
        out.append(
            _msg(
                "user_properties",
                f"Measurement has more than {MAX_USER_PROPERTIES} user properties.",
                "EXCEEDED_MAX_ENTITIES",
            )
        )
    for name, prop in props.items():
        if len(name) > 24 or not NAME_RE.match(name):
            out.append(_msg("user_properties", f"User property name [{name}] is invalid.", "NAME_INVALID"))
        elif name in RESERVED_USER_PROPERTIES or name.startswith(RESERVED_PREFIXES):
            out.append(_msg("user_properties", f"User property name [{name}] is reserved.", "NAME_RESERVED"))
        value = prop.get("value") if isinstance(prop, dict) else None
        if isinstance(value, str) and len(value) > 36:
            out.append(
                _msg(
                    f"user_properties.{name}",
                    f"User property [{name}] has a value longer than 36 characters.",
                    "VALUE_OUT_OF_BOUNDS",
                )
            )
    return out


def _check_event(index: int, event: Any, now: int) -> list[dict[str, str]]:
    if not isinstance(event, dict):
        return [_msg("events", f"Event at index: [{index}] is not an object.", "VALUE_INVALID")]
    out = []
    problem = _name_problem("event", str(index), event.get("name"), RESERVED_EVENTS)
    if problem:
        out.append(problem)
    out += _check_timestamp(f"events[{index}].timestamp_micros", event.get("timestamp_micros"), now)
    params = event.get("params") or {}
    if not isinstance(params, dict):
        return [
            *out,
            _msg(
                f"events[{index}].params",
                f"Event at index: [{index}] has params that are not an object.",
                "VALUE_INVALID",
            ),
        ]
    if len(params) > MAX_PARAMS:
        out.append(
            _msg(
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
                _msg(
                    f"events[{index}].params.{name}",
                    f"Event at index: [{index}] has parameter [{name}] "
                    f"with a value longer than {MAX_PARAM_VALUE} "
                    "characters.",
                    "VALUE_OUT_OF_BOUNDS",
                )
            )
    return out


# ---------------------------------------------------------------- Measurement Protocol routes


def _record_events(state: SandboxState, query: dict[str, str], body: dict[str, Any]) -> None:
    """Keep what a real property would count; purchases are deduplicated by transaction_id."""
    part = _ga4(state)
    measurement_id = query.get("measurement_id", "")
    stream = part["streams"].get(measurement_id)
    if stream is None or query.get("api_secret") != stream.api_secret:
        return  # GA4 drops it silently: /mp/collect still said 204
    for event in body["events"]:
        params = dict(event.get("params") or {})
        transaction_id = params.get("transaction_id")
        record = {
            "measurement_id": measurement_id,
            "client_id": body.get("client_id"),
            "user_id": body.get("user_id"),
            "name": event["name"],
            "params": params,
            "transaction_id": transaction_id,
            "timestamp_micros": event.get("timestamp_micros", body.get("timestamp_micros")),
            "consent": body.get("consent"),
            "user_data": body.get("user_data"),
            "duplicate": False,
            "duplicates": 0,
        }
        if transaction_id is not None:
            key = (measurement_id, str(transaction_id))
            with state.lock:
                original = part["purchases"].get(key) if event["name"] == "purchase" else None
                if original is not None:
                    original["duplicates"] += 1  # GA4 keeps one purchase per transaction_id
                    continue
                if event["name"] == "purchase":
                    part["purchases"][key] = record
                seen_key = (measurement_id, event["name"], str(transaction_id))
                record["duplicate"] = seen_key in part["seen"]  # other events are counted again
                part["seen"].add(seen_key)
        state.record("ga4", record)


def _mp_routes(state: SandboxState) -> list[BaseRoute]:
    async def collect(request: Request) -> Response:
        fault = state.faults.take("ga4.mp_collect")
        if fault:
            return _fault_response(fault)
        raw = await request.body()
        query = dict(request.query_params)
        if not validate_payload(query, raw):
            _record_events(state, query, json.loads(raw))
        return Response(status_code=204)

    async def debug_collect(request: Request) -> Response:
        fault = state.faults.take("ga4.debug_collect")
        if fault:
            return _fault_response(fault)
        raw = await request.body()
        return JSONResponse({"validationMessages": validate_payload(dict(request.query_params), raw)})

    return [
        Route("/mp/collect", collect, methods=["POST"]),
        Route("/debug/mp/collect", debug_collect, methods=["POST"]),
    ]


# ---------------------------------------------------------------- Data API runReport

SOURCE_MEDIUMS = ("google / cpc", "facebook / paid_social", "newsletter / email")
# dimension name -> (axis, how to render a value on that axis)
DIMENSIONS = {
    "date": "date",
    "sessionCampaignName": "campaign",
    "sessionCampaignId": "campaign",
    "sessionSourceMedium": "source_medium",
    "sessionSource": "source_medium",
    "sessionMedium": "source_medium",
}
METRIC_TYPES = {
    "sessions": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "keyEvents": "TYPE_INTEGER",
    "totalRevenue": "TYPE_CURRENCY",
    "engagedSessions": "TYPE_INTEGER",
}
DEFAULT_LIMIT = 10_000
MAX_LIMIT = 250_000
_RELATIVE = re.compile(r"^(\d+)daysAgo$")


def _jwt_like(token: str) -> bool:
    """Three base64url parts whose payload is JSON with an unexpired `exp` (signature not checked)."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return float(payload["exp"]) > time.time()
    except (ValueError, KeyError, TypeError):
        return False


def _authorised(state: SandboxState, request: Request) -> bool:
    """A service-account self-signed JWT, or an access token the sandbox's Google OAuth issued."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return False
    token = header[7:].strip()
    return _jwt_like(token) or state.tokens.check(token) == "ok"


def _parse_date(value: Any, today: dt.date) -> dt.date:
    if value == "today":
        return today
    if value == "yesterday":
        return today - dt.timedelta(days=1)
    if isinstance(value, str) and (match := _RELATIVE.match(value)):
        return today - dt.timedelta(days=int(match.group(1)))
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"Invalid date: {value!r}. Dates must be YYYY-MM-DD, NdaysAgo, yesterday, or today.") from None


def _int_field(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid value at '{name}' (TYPE_INT64), \"{value}\"") from None
    if number < 0:
        raise ValueError(f"{name} must be non-negative, got {number}.")
    return number


@dataclass(frozen=True)
class _Report:
    """A parsed runReport request over the sandbox's on-the-fly row space."""

    dims: list[str]
    metrics: list[str]
    axes: list[str]  # distinct axes of the requested dimensions, in order
    days: list[dt.date]
    campaigns: int
    limit: int
    offset: int

    def axis_size(self, axis: str) -> int:
        return {"date": len(self.days), "campaign": self.campaigns, "source_medium": len(SOURCE_MEDIUMS)}[axis]

    @property
    def row_count(self) -> int:
        if not self.days:
            return 0
        count = 1
        for axis in self.axes:
            count *= self.axis_size(axis)
        return count

    def coordinates(self, index: int) -> dict[str, int]:
        """Row `index` -> the position on each requested axis (last axis varies fastest)."""
        position: dict[str, int] = {}
        for axis in reversed(self.axes):
            index, position[axis] = divmod(index, self.axis_size(axis))
        return position


def _parse_report(body: dict[str, Any], stream: Stream, state: SandboxState) -> _Report:
    ranges = body.get("dateRanges") or []
    if len(ranges) != 1:
        raise ValueError("The sandbox supports exactly one entry in dateRanges.")
    dims = [d.get("name") for d in body.get("dimensions") or []]
    metrics = [m.get("name") for m in body.get("metrics") or []]
    for name in dims:
        if name not in DIMENSIONS:
            raise ValueError(
                f"Field {name} is not a valid dimension. For a list of valid dimensions and metrics, "
                "see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
            )
    for name in metrics:
        if name not in METRIC_TYPES:
            raise ValueError(
                f"Field {name} is not a valid metric. For a list of valid dimensions and metrics, "
                "see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
            )
    if not metrics:
        raise ValueError("At least one metric is required.")
    today = dt.datetime.now(zoneinfo.ZoneInfo(stream.timezone)).date()
    start = _parse_date(ranges[0].get("startDate"), today)
    end = _parse_date(ranges[0].get("endDate"), today)
    if start > end:
        raise ValueError(f"Invalid date range: startDate {start} is after endDate {end}.")
    first = today - dt.timedelta(days=state.config.days)  # history: `days` full days up to yesterday
    days = list(data.date_range(max(start, first), min(end, today - dt.timedelta(days=1))))
    axes = list(dict.fromkeys(DIMENSIONS[d] for d in dims))
    limit = _int_field(body, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT
    return _Report(
        dims,
        metrics,
        axes,
        days,
        state.config.campaigns_per_account,
        min(limit, MAX_LIMIT),
        _int_field(body, "offset", 0),
    )


@functools.lru_cache(maxsize=4096)
def _campaign(seed: int, property_id: str, index: int) -> tuple[str, str]:
    return data.entity_id(seed, "ga4", property_id, index), f"Sandbox Campaign {index + 1}"


def _cell_metrics(seed: int, property_id: str, day: dt.date, campaign: int, sm: int) -> dict[str, float]:
    """One (day, campaign, source/medium) cell: a pure function of seed + key + date."""
    base = data.daily_metrics(seed, f"ga4:{property_id}:{campaign}:{sm}", day, scale=0.5)
    sessions = max(1, base["clicks"])
    key_events = int(base["conversions"])
    return {
        "sessions": sessions,
        "totalUsers": max(1, int(sessions * 0.8)),
        "engagedSessions": int(sessions * 0.6),
        "keyEvents": key_events,
        "totalRevenue": round(key_events * (base["conversions_value"] / max(base["conversions"], 0.01)), 2),
    }


def _row(report: _Report, index: int, seed: int, property_id: str) -> dict[str, Any]:
    position = report.coordinates(index)
    ranges = {
        axis: [position[axis]] if axis in position else range(report.axis_size(axis))
        for axis in ("date", "campaign", "source_medium")
    }
    totals = dict.fromkeys(report.metrics, 0.0)
    for d in ranges["date"]:
        for c in ranges["campaign"]:
            for s in ranges["source_medium"]:
                cell = _cell_metrics(seed, property_id, report.days[d], c, s)
                for name in report.metrics:
                    totals[name] += cell[name]
    dim_values = []
    for name in report.dims:
        axis = DIMENSIONS[name]
        if axis == "date":
            value = report.days[position["date"]].strftime("%Y%m%d")
        elif name == "sessionCampaignId":
            value = _campaign(seed, property_id, position["campaign"])[0]
        elif name == "sessionCampaignName":
            value = _campaign(seed, property_id, position["campaign"])[1]
        else:
            source, medium = SOURCE_MEDIUMS[position["source_medium"]].split(" / ")
            value = {"sessionSource": source, "sessionMedium": medium}.get(name, f"{source} / {medium}")
        dim_values.append({"value": value})
    metric_values = [
        {"value": f"{totals[m]:.2f}" if METRIC_TYPES[m] == "TYPE_CURRENCY" else str(int(totals[m]))}
        for m in report.metrics
    ]
    return {"dimensionValues": dim_values, "metricValues": metric_values}


def _quota(consumed: int) -> dict[str, Any]:
    return {
        "tokensPerDay": {"consumed": consumed, "remaining": 200_000 - consumed},
        "tokensPerHour": {"consumed": consumed, "remaining": 40_000 - consumed},
        "concurrentRequests": {"remaining": 10},
        "serverErrorsPerProjectPerHour": {"remaining": 10},
        "potentiallyThresholdedRequestsPerHour": {"remaining": 120},
        "tokensPerProjectPerHour": {"consumed": consumed, "remaining": 14_000 - consumed},
    }


def _data_api_routes(state: SandboxState) -> list[BaseRoute]:
    async def run_report(request: Request) -> Response:
        fault = state.faults.take("ga4.run_report")
        if fault:
            return _fault_response(fault)
        if not _authorised(state, request):
            return _fault_response(Fault("ga4.run_report", "unauthenticated"))
        property_id = request.path_params["property_id"]
        stream = _property(state, property_id)
        if stream is None:
            if not property_id.isdigit():
                return google_error(400, f"Invalid property ID: {property_id}. A numeric Property ID is required.")
            return _fault_response(Fault("ga4.run_report", "permission_denied"))
        message, refused = proto_json.parse(RunReportRequest, await request.body())
        if refused is not None:  # what Google's own schema refuses (unknown field, wrong type or enum)
            return google_error(400, refused.description)
        body = proto_json.canonical(message)
        if body.get("property") not in (None, f"properties/{property_id}"):
            return google_error(400, "The property in the request body does not match the one in the URL.")
        try:
            report = _parse_report(body, stream, state)
        except ValueError as exc:
            return google_error(400, str(exc))
        total = report.row_count
        stop = min(total, report.offset + report.limit)
        seed = state.config.seed
        answer: dict[str, Any] = {
            "dimensionHeaders": [{"name": d} for d in report.dims],
            "metricHeaders": [{"name": m, "type": METRIC_TYPES[m]} for m in report.metrics],
        }
        rows = [_row(report, i, seed, property_id) for i in range(report.offset, stop)]
        if rows:
            answer["rows"] = rows
        if total:
            answer["rowCount"] = total
        answer["metadata"] = {"currencyCode": stream.currency, "timeZone": stream.timezone}
        if body.get("returnPropertyQuota"):
            answer["propertyQuota"] = _quota(max(1, len(rows) // 1000))
        answer["kind"] = "analyticsData#runReport"
        return JSONResponse(proto_json.render(RunReportResponse, answer, int_enums=proto_json.wants_int_enums(request)))

    return [Route("/v1beta/properties/{property_id}:runReport", run_report, methods=["POST"])]


def routes(state: SandboxState) -> list[BaseRoute]:
    """The Measurement Protocol host under /ga and the Data API host under /analyticsdata."""
    _ga4(state)
    return [Mount("/ga", routes=_mp_routes(state)), Mount("/analyticsdata", routes=_data_api_routes(state))]
