"""The Measurement Protocol host (/ga): `/mp/collect` and the validation server `/debug/mp/collect`.

`/mp/collect` always answers 204 with an empty body: a wrong API secret or an invalid payload is dropped
silently. The validation server answers 200 `{"validationMessages": [...]}` and never checks the API
secret. What a real property would count is recorded in `state.received["ga4"]`: purchases are
deduplicated by transaction_id, other events are counted again (marked `duplicate`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from routy_app.sandbox.core import jsonio
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.ga4.errors import fault_response
from routy_app.sandbox.ga4.mp_validation import validate_payload
from routy_app.sandbox.ga4.streams import memory


def record_events(state: SandboxState, query: dict[str, str], body: dict[str, Any]) -> None:
    """Keep what a real property would count; purchases are deduplicated by transaction_id."""
    part = memory(state)
    measurement_id = query.get("measurement_id", "")
    stream = part.streams.get(measurement_id)
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
                original = part.purchases.get(key) if event["name"] == "purchase" else None
                if original is not None:
                    original["duplicates"] += 1  # GA4 keeps one purchase per transaction_id
                    continue
                if event["name"] == "purchase":
                    part.purchases[key] = record
                seen_key = (measurement_id, event["name"], str(transaction_id))
                record["duplicate"] = seen_key in part.seen  # other events are counted again
                part.seen.add(seen_key)
        state.record("ga4", record)


def routes(state: SandboxState) -> list[BaseRoute]:
    async def collect(request: Request) -> Response:
        fault = state.faults.take("ga4.mp_collect")
        if fault:
            return fault_response(fault)
        raw = await request.body()
        query = dict(request.query_params)
        if not validate_payload(query, raw):
            record_events(state, query, jsonio.loads(raw))
        return Response(status_code=204)

    async def debug_collect(request: Request) -> Response:
        fault = state.faults.take("ga4.debug_collect")
        if fault:
            return fault_response(fault)
        raw = await request.body()
        return JSONResponse({"validationMessages": validate_payload(dict(request.query_params), raw)})

    return [
        Route("/mp/collect", collect, methods=["POST"]),
        Route("/debug/mp/collect", debug_collect, methods=["POST"]),
    ]
