"""The Data API host (/analyticsdata): `properties/{id}:runReport`.

Requests are parsed with Google's own RunReportRequest type and answers are built through
RunReportResponse (sandbox/core/proto_json.py), in the enum encoding the caller asked for. The answer has
the google-analytics-data REST shape: string values, YYYYMMDD dates, offset paging, `rows` absent when
empty. Rows are computed on the fly from sandbox/core/data.py, so a benchmark can page through a million
rows without the sandbox holding them. A caller is authorised by a service account's self-signed JWT or
an access token the sandbox's Google OAuth issued.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import re
import time
import zoneinfo
from dataclasses import dataclass
from typing import Any

from google.analytics.data_v1beta.types import RunReportRequest, RunReportResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from routy_app.sandbox.core import data, jsonio, proto_json
from routy_app.sandbox.core.faults import Fault
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.ga4.errors import fault_response, google_error
from routy_app.sandbox.ga4.streams import Stream, stream_of_property

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
        payload = jsonio.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
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


def routes(state: SandboxState) -> list[BaseRoute]:
    async def run_report(request: Request) -> Response:
        fault = state.faults.take("ga4.run_report")
        if fault:
            return fault_response(fault)
        if not _authorised(state, request):
            return fault_response(Fault("ga4.run_report", "unauthenticated"))
        property_id = request.path_params["property_id"]
        stream = stream_of_property(state, property_id)
        if stream is None:
            if not property_id.isdigit():
                return google_error(400, f"Invalid property ID: {property_id}. A numeric Property ID is required.")
            return fault_response(Fault("ga4.run_report", "permission_denied"))
        message = proto_json.parse(RunReportRequest, await request.body())
        if isinstance(message, proto_json.SchemaViolation):  # Google's own schema refuses it (field, type, enum)
            return google_error(400, message.description)
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
