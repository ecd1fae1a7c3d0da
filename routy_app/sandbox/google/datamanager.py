"""Emulated Data Manager API v1: `events:ingest` (fast-fail validation) and `requestStatus:retrieve`.

Requests are read with Google's own message types (sandbox/core/proto_json.py: enum names and numbers,
unknown fields refused) and then checked against the service's rules (sandbox/google/datamanager_rules.py).
Like the real service, one bad event rejects the whole request with a google.rpc BadRequest whose
field paths are snake_case (`events[1].user_data.user_identifiers[0]`); accepted requests answer
PROCESSING for a while and then SUCCESS / PARTIAL_SUCCESS with per-reason counts (duplicate
transaction IDs, unknown clicks, denied consent, too-old events). Answers are built through the
official response types, in the enum encoding the caller asked for (`$alt=json;enum-encoding=int`).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from google.ads import datamanager_v1 as dm
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from routy_app.sandbox.core import proto_json
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.google import ads_data as gd
from routy_app.sandbox.google.datamanager_rules import processing_error, validate
from routy_app.sandbox.google.errors import check_auth, fault_response, rpc_error


@dataclass
class _Slot:
    """One destination of an accepted request: how many events it got and why some of them failed."""

    destination: dict[str, Any]
    count: int = 0
    errors: Counter[str] = field(default_factory=Counter)


@dataclass
class _Accepted:
    """An accepted request, as requestStatus:retrieve reports on it."""

    destinations: list[_Slot]
    polls: int = 0
    forced: Counter[str] | None = None  # a partial_failure fault: the verdict to report instead


@dataclass
class DataManagerMemory:
    """Accepted requests by id, and the dedup keys of every event accepted so far."""

    requests: dict[str, _Accepted] = field(default_factory=dict)
    seen: set[tuple[str, ...]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


async def _stall(request: Request, seconds: float) -> None:
    """Hold the answer back (a timeout or a caller that dies mid-request, as seen by the provider)."""
    deadline = asyncio.get_running_loop().time() + seconds
    # Starlette has no disconnect event to wait on: polling is_disconnected() is its public way to notice.
    while asyncio.get_running_loop().time() < deadline and not await request.is_disconnected():  # noqa: ASYNC110
        await asyncio.sleep(0.05)


def routes(state: SandboxState) -> list[BaseRoute]:
    async def ingest(request: Request) -> Response:
        fault = state.faults.take("datamanager.ingest")
        answer_lost = fault if fault is not None and fault.condition == "answer_lost" else None
        if fault is not None and answer_lost is None:
            return fault_response(fault, "datamanager")
        if (denied := check_auth(state, request, "datamanager")) is not None:
            return denied
        message = proto_json.parse(dm.IngestEventsRequest, await request.body())
        if isinstance(message, proto_json.SchemaViolation):
            return _schema_error(message)
        body = proto_json.canonical(message)
        violations, actions = validate(body, state.config.seed)
        if violations:
            return rpc_error(
                400, "There was a problem with the request.", reason="INVALID_ARGUMENT", field_violations=violations
            )
        for i, dest in enumerate(body["destinations"]):
            operating = dest["operatingAccount"]["accountId"]
            login = (dest.get("loginAccount") or {}).get("accountId")
            if not gd.can_access(operating, login):
                return rpc_error(
                    403,
                    f"The caller does not have permission to access operating account {operating} "
                    f"(destinations[{i}]); set login_account to the manager it is reached through.",
                    reason="PERMISSION_DENIED",
                )
        request_id = secrets.token_hex(16)
        answer = proto_json.render(
            dm.IngestEventsResponse, {"requestId": request_id}, int_enums=proto_json.wants_int_enums(request)
        )
        if body.get("validateOnly"):
            return JSONResponse(answer)  # never stored: not usable for status lookups
        _accept(body, actions, request_id)
        if answer_lost is not None:  # ingested, but the caller hears nothing until `seconds` pass or it hangs up
            answer_lost.in_effect.set()
            await _stall(request, float(answer_lost.params.get("seconds", 60)))
        return JSONResponse(answer)

    def _accept(body: dict[str, Any], actions: list[dict[str, Any]], request_id: str) -> None:
        mem = state.part(DataManagerMemory)
        destinations = body["destinations"]
        per_dest = [_Slot(d) for d in destinations]
        recorded = []
        with mem.lock:
            for event in body["events"]:
                refs = event.get("destinationReferences") or [d.get("reference") for d in destinations]
                for slot, dest, action in zip(per_dest, destinations, actions, strict=True):
                    if dest.get("reference") not in refs:
                        continue
                    action_id = str(dest["productDestinationId"])
                    error = processing_error(event, action_id, body.get("consent") or {}, mem.seen)
                    slot.count += 1
                    if error:
                        slot.errors[error] += 1
                    ad_ids = event.get("adIdentifiers") or {}
                    recorded.append(
                        {
                            "api": "datamanager",
                            "requestId": request_id,
                            "destination": {
                                "operatingAccount": dest["operatingAccount"]["accountId"],
                                "loginAccount": (dest.get("loginAccount") or {}).get("accountId"),
                                "productDestinationId": action_id,
                                "conversionAction": action.get("conversion_action.name"),
                            },
                            "transactionId": event.get("transactionId"),
                            "gclid": ad_ids.get("gclid"),
                            "gbraid": ad_ids.get("gbraid"),
                            "wbraid": ad_ids.get("wbraid"),
                            "eventTimestamp": event.get("eventTimestamp"),
                            "eventSource": event.get("eventSource"),
                            "conversionValue": event.get("conversionValue"),
                            "currency": event.get("currency"),
                            "userIdentifiers": (event.get("userData") or {}).get("userIdentifiers") or [],
                            "consent": event.get("consent") or body.get("consent"),
                            "dedupKey": event.get("transactionId")
                            or f"{ad_ids.get('gclid')}|{event.get('eventTimestamp')}",
                            "processingError": error,
                        }
                    )
            mem.requests[request_id] = _Accepted(per_dest)
        for item in recorded:
            state.record("google_ads", item)

    async def request_status(request: Request) -> Response:
        fault = state.faults.take("datamanager.status")
        forced: Counter[str] | None = None
        if fault is not None and fault.condition == "partial_failure":
            forced = Counter(
                {
                    str(fault.params.get("reason", "PROCESSING_ERROR_REASON_EVENT_TOO_OLD")): int(
                        fault.params.get("count", 1)
                    )
                }
            )
        elif fault is not None:
            return fault_response(fault, "datamanager")
        if (denied := check_auth(state, request, "datamanager")) is not None:
            return denied
        query = {k: v for k, v in request.query_params.items() if k not in ("$alt", "alt")}
        message = proto_json.parse(dm.RetrieveRequestStatusRequest, query)
        if isinstance(message, proto_json.SchemaViolation):
            return _schema_error(message)
        request_id = message.request_id
        mem = state.part(DataManagerMemory)
        with mem.lock:
            stored = mem.requests.get(request_id)
            if stored is None:
                return rpc_error(
                    400,
                    "There was a problem with the request.",
                    reason="INVALID_ARGUMENT",
                    field_violations=[
                        {
                            "field": "request_id",
                            "reason": "INVALID_REQUEST_ID",
                            "description": "The request ID is not valid.",
                        }
                    ],
                )
            if forced is not None:
                stored.forced = forced
            stored.polls += 1
            processing = stored.polls <= state.config.verdict_after_polls and stored.forced is None
            entries = [_status_entry(slot, processing, stored.forced) for slot in stored.destinations]
        return JSONResponse(
            proto_json.render(
                dm.RetrieveRequestStatusResponse,
                {"requestStatusPerDestination": entries},
                int_enums=proto_json.wants_int_enums(request),
            )
        )

    return [
        Route("/v1/events:ingest", ingest, methods=["POST"]),
        Route("/v1/requestStatus:retrieve", request_status, methods=["GET"]),
    ]


def _schema_error(refused: proto_json.SchemaViolation) -> Response:
    """What Google's JSON transcoder answers for a request its schema refuses (no ErrorInfo reason)."""
    return rpc_error(
        400,
        refused.description,
        reason="INVALID_ARGUMENT",
        field_violations=[{"field": refused.field, "description": refused.description}],
    )


def _status_entry(slot: _Slot, processing: bool, forced: Counter[str] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "destination": slot.destination,
        "eventsIngestionStatus": {"recordCount": str(slot.count)},
    }
    if processing:
        entry["requestStatus"] = "PROCESSING"
        return entry
    errors = forced if forced is not None else slot.errors
    failed = sum(errors.values())
    if not failed:
        entry["requestStatus"] = "SUCCESS"
        return entry
    entry["requestStatus"] = "FAILED" if failed >= slot.count and forced is None else "PARTIAL_SUCCESS"
    entry["errorInfo"] = {
        "errorCounts": [{"recordCount": str(n), "reason": reason} for reason, n in sorted(errors.items())]
    }
    return entry
