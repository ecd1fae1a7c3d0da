"""Conversions API emulator: `POST /{pixel_id}/events` and the account's pixels (`act_{id}/adspixels`).

Why: Routy pushes conversions to Meta through CAPI. The emulator applies the rules that bite in
production: at most 1,000 events, `event_time` in Unix seconds and at most 7 days old (62 for
physical_store), the action_source enum, website events needing a URL and a user agent, hashed
`em`/`ph`; one bad event rejects the whole batch (400 code 100, nothing stored). Accepted events are
deduplicated on event_name + event_id for 48 hours and recorded in `state.received["meta_ads"]`
(duplicates are recorded with `duplicate: True`, stored once).

Every form a client may send is accepted, as graph.facebook.com accepts it: a JSON body, or a form /
multipart body whose `data` is a JSON string; the events in `data` may be objects or JSON-encoded
strings of objects (what the official SDK's `EventRequest.execute()` sends). Event and user_data keys
are checked against the official SDK's field lists (sandbox/meta/sdk_fields.py); custom_data takes custom
properties, so its keys are free.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from routy_app.sandbox.core import jsonio
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.meta import graph as g
from routy_app.sandbox.meta import paging
from routy_app.sandbox.meta.sdk_fields import CAPI_EVENT_KEYS, CAPI_USER_DATA_KEYS

MAX_EVENTS = 1000
DEDUP_SECONDS = 48 * 3600
ACTION_SOURCES = {
    "website",
    "app",
    "email",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
}
HASHED_KEYS = ("em", "ph", "fn", "ln", "ct", "st", "zp", "country", "db", "ge", "external_id")
USER_KEYS = CAPI_USER_DATA_KEYS
SHA256 = re.compile(r"[0-9a-f]{64}")


class Rejected(Exception):
    """One event breaks a rule: the whole request fails with this title/message (subcodes unconfirmed)."""

    def __init__(self, index: int | None, subcode: int, title: str, message: str) -> None:
        super().__init__(message)
        where = f" (event at index {index})" if index is not None else ""
        self.subcode, self.title, self.message = subcode, title, message + where


def _decode_event(index: int, event: Any) -> dict[str, Any]:
    """An event as sent: an object, or a JSON-encoded string of one (the official SDK's form)."""
    if isinstance(event, str):
        try:
            event = jsonio.loads(event)
        except ValueError:
            raise Rejected(index, 2804001, "Invalid Event", "Each event must be a JSON object.") from None
    if not isinstance(event, dict):
        raise Rejected(index, 2804001, "Invalid Event", "Each event must be a JSON object.")
    return event


def _check_event(index: int, event: dict[str, Any], now: float) -> None:
    unknown = sorted(set(event) - CAPI_EVENT_KEYS)
    if unknown:
        raise Rejected(index, 2804001, "Invalid Event", f"{unknown[0]} is not a valid server event parameter.")
    if not isinstance(event.get("event_name"), str) or not event["event_name"]:
        raise Rejected(index, 2804001, "Missing Event Name", "The parameter event_name is required.")
    when = event.get("event_time")
    if isinstance(when, str) and when.isdigit():
        when = int(when)
    if not isinstance(when, int) or isinstance(when, bool):
        raise Rejected(index, 2804002, "Invalid Event Time", "event_time must be a Unix timestamp in seconds.")
    if when > now + 600:
        raise Rejected(
            index,
            2804004,
            "Event Timestamp In The Future",
            "The timestamp for this event is in the future. event_time must be in seconds, not milliseconds.",
        )
    source = event.get("action_source")
    max_age = 62 if source == "physical_store" else 7
    if when < now - max_age * 86400:
        raise Rejected(
            index,
            2804003,
            "Event Timestamp Too Old",
            f"The timestamp for this event is too far in the past. Events need to be logged within "
            f"{max_age} days of their occurrence.",
        )
    if source not in ACTION_SOURCES:
        raise Rejected(
            index,
            2804050,
            "Invalid Action Source",
            f"The value '{source}' is not a valid action_source. Use one of: {', '.join(sorted(ACTION_SOURCES))}.",
        )
    user = event.get("user_data")
    if not isinstance(user, dict) or not (set(user) & USER_KEYS):
        raise Rejected(
            index,
            2804005,
            "Missing User Data",
            "The user_data parameter must contain at least one customer information parameter.",
        )
    unknown_user = sorted(set(user) - USER_KEYS)
    if unknown_user:
        raise Rejected(
            index, 2804005, "Invalid User Data", f"user_data.{unknown_user[0]} is not a customer information parameter."
        )
    if source == "website" and not (event.get("event_source_url") and user.get("client_user_agent")):
        raise Rejected(
            index,
            2804019,
            "Missing Website Parameters",
            "Website events require event_source_url and client_user_agent.",
        )
    for key in HASHED_KEYS:
        if key not in user:
            continue
        values = user[key] if isinstance(user[key], list) else [user[key]]
        if not all(isinstance(v, str) and SHA256.fullmatch(v) for v in values):
            raise Rejected(
                index,
                2804013,
                "Invalid Hashed Value",
                f"user_data.{key} must be SHA-256 hashed (64 lowercase hex characters).",
            )
    custom = event.get("custom_data") or {}
    if not isinstance(custom, dict):
        raise Rejected(index, 2804001, "Invalid Custom Data", "custom_data must be a JSON object.")
    if "value" in custom and not isinstance(custom["value"], (int, float, str)):
        raise Rejected(index, 2804016, "Invalid Value", "custom_data.value must be a number.")
    if event["event_name"] == "Purchase" and ("value" not in custom or not custom.get("currency")):
        raise Rejected(
            index,
            2804017,
            "Missing Purchase Value",
            "Purchase events require custom_data.value and custom_data.currency.",
        )
    if custom.get("currency") is not None and not re.fullmatch(r"[A-Za-z]{3}", str(custom["currency"])):
        raise Rejected(index, 2804018, "Invalid Currency", "custom_data.currency must be an ISO 4217 code.")


@dataclass
class CapiDedup:
    """When each (pixel, test code, event_name, event_id) was first accepted: Meta keeps one within 48 hours."""

    first_seen: dict[tuple[str, str | None, str, str], float] = field(default_factory=dict)


@dataclass(frozen=True)
class CapiHandlers:
    """The pixel endpoints meta/__init__.py dispatches to on (node kind, edge)."""

    adspixels: g.AccountEndpoint
    pixel_node: g.NodeEndpoint
    events: g.NodeEndpoint


def routes(state: SandboxState) -> CapiHandlers:
    """The handlers, bound to this emulator's state."""

    async def adspixels(request: Request, account: g.AdAccount) -> Response:
        if (refused := g.refuse(state, request, g.token_of(request), "meta.pixels")) is not None:
            return refused
        fields = [f for f in (request.query_params.get("fields") or "id").split(",") if f]
        rows = [{k: v for k, v in p.items() if k == "id" or k in fields} for p in g.pixels_of(state, account)]
        return g.ok(
            state,
            {
                "data": rows,
                "paging": {
                    "cursors": {"before": paging.encode_cursor(0), "after": paging.encode_cursor(len(rows) - 1)}
                },
            },
        )

    async def pixel_node(request: Request, pixel_id: str) -> Response:
        token = g.token_of(request)
        problem = g.check_user_token(state, request, token)
        if problem:
            return problem
        found = g.find_pixel(state, pixel_id)
        return g.ok(state, {"id": pixel_id, "name": found[1]["name"] if found else pixel_id})

    async def events(request: Request, pixel_id: str) -> Response:
        kind = request.headers.get("content-type", "")
        body: dict[str, Any] = {}
        form: dict[str, str] = {}
        raw_data: Any = None
        if "json" in kind:
            try:
                body = jsonio.loads(await request.body() or b"{}")
            except ValueError:
                return g.graph_error(state, "(#100) The request body is not valid JSON", 100)
            if not isinstance(body, dict):  # an array, a string, a number or null: no parameters at all
                return g.graph_error(state, "(#100) The request body must be a JSON object of parameters", 100)
            raw_data = body.get("data")
        else:
            form = await g.form_or_empty(request)
            raw_data = form.get("data") or request.query_params.get("data")
        if (refused := g.refuse(state, request, g.token_of(request, form, body), "meta.events", form)) is not None:
            return refused
        if isinstance(raw_data, str):
            try:
                raw_data = jsonio.loads(raw_data)
            except ValueError:
                return g.graph_error(state, "(#100) param data must be an array.", 100)
        if not isinstance(raw_data, list) or not raw_data:
            return g.graph_error(state, "(#100) The parameter data is required", 100)
        test_code = body.get("test_event_code") or form.get("test_event_code") or None
        if len(raw_data) > MAX_EVENTS:
            return g.graph_error(
                state,
                "Invalid parameter",
                100,
                subcode=2804008,
                user_title="Too Many Events",
                user_msg=f"A request can contain at most {MAX_EVENTS} events; this one has {len(raw_data)}.",
            )
        now = time.time()
        try:
            raw_data = [_decode_event(index, event) for index, event in enumerate(raw_data)]
            for index, event in enumerate(raw_data):
                _check_event(index, event, now)
        except Rejected as exc:
            return g.graph_error(
                state, "Invalid parameter", 100, subcode=exc.subcode, user_title=exc.title, user_msg=exc.message
            )
        trace = g.fbtrace_id()
        dedup = state.part(CapiDedup).first_seen
        for event in raw_data:
            key = (pixel_id, test_code, event["event_name"], str(event.get("event_id") or ""))
            with state.lock:
                seen = dedup.get(key)
                duplicate = bool(event.get("event_id")) and seen is not None and now - seen < DEDUP_SECONDS
                if not duplicate:
                    dedup[key] = now
            state.record(
                "meta_ads",
                {
                    "pixel_id": pixel_id,
                    "event_name": event["event_name"],
                    "event_id": event.get("event_id"),
                    "event_time": int(event["event_time"]),
                    "action_source": event["action_source"],
                    "test_event_code": test_code,
                    "duplicate": duplicate,
                    "user_data": event["user_data"],
                    "custom_data": event.get("custom_data") or {},
                    "event_source_url": event.get("event_source_url"),
                    "received_at": now,
                    "fbtrace_id": trace,
                },
            )
        return g.ok(state, {"events_received": len(raw_data), "messages": [], "fbtrace_id": trace})

    return CapiHandlers(adspixels, pixel_node, events)
