"""Conversions in over HTTP: `POST /api/v1/conversions` (Bearer API key) and `GET /postback`.

Thin: authenticate, parse (numbers as Decimal, never float), hand to services.conversions, turn
the outcome into JSON. The database work runs in a worker thread so the event loop stays free.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from routy_app.db import session_scope
from routy_app.models import saved_id
from routy_app.security.body_limit import MAX_BODY_BYTES
from routy_app.services import conversions as svc


def _error(status: int, message: str, errors: list[svc.FieldError] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if errors is not None:
        body["errors"] = [e.as_dict() for e in errors]
    headers = {"WWW-Authenticate": 'Bearer realm="routy"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _source_id(key: str | None) -> int | None:
    with session_scope() as session:
        source = svc.source_for_key(session, key)
        return saved_id(source) if source is not None else None


def _ingest(source_id: int, events: list[Any]) -> list[svc.StoredEvent]:
    with session_scope() as session:
        return svc.ingest_events(session, source_id, events)


async def post_conversions(request: Request) -> JSONResponse:
    """One event object -> 201 (created) / 200 (duplicate); an array -> 200 with per-event status."""
    key = _bearer(request)
    if key is None:
        return _error(401, "Send the traffic source's API key as 'Authorization: Bearer <key>'.")
    source_id = await run_in_threadpool(_source_id, key)
    if source_id is None:
        return _error(401, "The API key is not valid (it may have been rotated).")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return _error(413, f"The request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB.")
    try:
        body = json.loads(raw or b"null", parse_float=Decimal)
    except RecursionError:
        return _error(400, "The body is not an event: its JSON is nested too deeply.")
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(400, f"The body is not valid JSON ({exc}).")
    single = isinstance(body, dict)
    events = [body] if single else body
    try:
        stored = await run_in_threadpool(_ingest, source_id, events)
    except svc.ValidationFailed as exc:
        return _error(422, exc.message, exc.errors)
    if single:
        event = stored[0]
        return JSONResponse(event.as_dict(), status_code=201 if event.status == "created" else 200)
    created = sum(1 for e in stored if e.status == "created")
    return JSONResponse(
        {"created": created, "duplicates": len(stored) - created, "events": [e.as_dict() for e in stored]},
        status_code=200,
    )


async def postback(request: Request) -> JSONResponse:
    """For trackers that can only fire a URL: the key travels in the query."""
    try:
        params = svc.postback_params(request.scope.get("query_string", b""))
    except svc.ValidationFailed as exc:
        return _error(422, exc.message, exc.errors)
    source_id = await run_in_threadpool(_source_id, params.get("key"))
    if source_id is None:
        return _error(401, "The key parameter is missing or not a valid API key.")
    try:
        event = svc.postback_event(params)
        stored = (await run_in_threadpool(_ingest, source_id, [event]))[0]
    except svc.ValidationFailed as exc:
        return _error(422, exc.message, exc.errors)
    return JSONResponse(stored.as_dict(), status_code=201 if stored.status == "created" else 200)


def routes() -> list[Route]:
    return [
        Route("/api/v1/conversions", post_conversions, methods=["POST"]),
        Route("/postback", postback, methods=["GET"]),
    ]
