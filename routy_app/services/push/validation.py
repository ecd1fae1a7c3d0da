"""Validate push: one conversion sent to the provider in its validate-only mode (Google validateOnly, Meta's
test event code, GA4's validation server), with the exact payload and answer shown; nothing is recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import Session, col, select

from routy_app.db import session_scope
from routy_app.errors import NotFound
from routy_app.models import Conversion, ConversionMapping, Integration
from routy_app.providers import registry
from routy_app.providers.errors import AuthExpired, ProviderError
from routy_app.providers.protocols import ConversionSink, ability
from routy_app.providers.values import PushResult
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations.access import provider_session
from routy_app.services.integrations.credentials import account_of
from routy_app.services.integrations.health import describe_error
from routy_app.services.push.rules import missing_identifier, outgoing, too_old
from routy_app.timeutil import utcnow


@dataclass(frozen=True)
class PushValidation:
    """What Validate push shows: the exact payload sent, the provider's answer, and whether it would go through."""

    payload_json: str
    answer_text: str
    ok: bool


def sample_conversions(
    session: Session, integration_id: int, event_type: str, limit: int = 20
) -> list[tuple[int, str]]:
    """The latest conversions of an event type to validate a mapping with: (id, label), newest first."""
    integration = session.get(Integration, integration_id)
    if integration is None:
        return []
    convs = session.exec(
        select(Conversion)
        .where(Conversion.traffic_source_id == integration.traffic_source_id, Conversion.event_type == event_type)
        .order_by(col(Conversion.id).desc())
        .limit(limit)
    ).all()
    return [(int(c.id or 0), f"{c.external_id} · {c.occurred_at:%Y-%m-%d %H:%M}") for c in convs]


def validation_note(session: Session, integration_id: int) -> str:
    """What Test push does at this integration's provider (validated only, or really sent)."""
    integration = session.get(Integration, integration_id)
    definition = registry.find(integration.provider) if integration is not None else None
    return definition.validation_note if definition is not None else ""


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests to the hub's client and keeps a copy: the test push shows the exact wire payload."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        answer = await self.http.send(request)
        headers = [
            (k, v)
            for k, v in answer.headers.items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        copy = httpx.Response(answer.status_code, headers=headers, content=answer.content)
        self.exchanges.append((request, copy))
        return copy


async def validate_push(hub: ProviderHub, integration_id: int, mapping_id: int, conversion_id: int) -> PushValidation:
    """Validate one conversion with the provider without recording it (Google validateOnly, Meta
    test_event_code, GA4 /debug/mp/collect); returns the exact payload sent and the answer."""
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        mapping = session.get(ConversionMapping, mapping_id)
        conv = session.get(Conversion, conversion_id)
        if integration is None or mapping is None or mapping.integration_id != integration_id:
            raise NotFound("This mapping no longer exists.")
        if conv is None or conv.traffic_source_id != integration.traffic_source_id:
            raise NotFound("This conversion does not exist for this traffic source.")
        provider_key, account = integration.provider, account_of(integration)
        event = outgoing(conv, mapping)
        notes = [n for n in (too_old(provider_key, conv, utcnow()), missing_identifier(provider_key, event)) if n]
    recorder = Recorder(hub.http)
    paths = registry.get(provider_key).push_paths
    async with httpx.AsyncClient(transport=recorder, timeout=hub.http.timeout) as client:
        try:
            async with provider_session(hub, integration_id, http=client) as (provider, creds, _):
                sink = ability(provider, ConversionSink)
                results = await sink.push_conversions(creds, account, [event], validate_only=True)
        except AuthExpired as exc:
            return PushValidation(_payloads(recorder, paths), f"Authorisation refused: {exc.message}", False)
        except ProviderError as exc:
            return PushValidation(
                _payloads(recorder, paths), f"{describe_error(exc)}\n{_answers(recorder, paths)}", False
            )
    result = results[0] if results else PushResult("failed", error="no result")
    verdict = "Result: validated only — nothing was ingested" if result.status == "sent" else f"Result: {result.status}"
    lines = [verdict + (f" - {result.error}" if result.error else "")]
    if result.response:
        lines.append(f"Provider response: {result.response}")
    if notes:
        lines.append("Note: a real push would skip this conversion: " + "; ".join(notes))
    answers = _answers(recorder, paths)
    if answers:
        lines.append(answers)
    return PushValidation(_payloads(recorder, paths), "\n".join(lines), result.status == "sent" and not notes)


def _push_exchanges(recorder: Recorder, paths: tuple[str, ...] | None) -> list[tuple[httpx.Request, httpx.Response]]:
    """The requests that carried conversions (`paths`: the provider's POSTs; None: every request, any method)."""
    return [
        (q, a) for q, a in recorder.exchanges if paths is None or (q.method == "POST" and q.url.path.endswith(paths))
    ]


def _payloads(recorder: Recorder, paths: tuple[str, ...] | None) -> str:
    parts = []
    for request, _ in _push_exchanges(recorder, paths):
        try:
            body: Any = json.loads(request.content or b"null")
        except ValueError:
            body = request.content.decode("utf-8", "replace")
        parts.append({"method": request.method, "url": str(request.url.copy_with(query=None)), "body": body})
    return json.dumps(parts[0] if len(parts) == 1 else parts, indent=2)


def _answers(recorder: Recorder, paths: tuple[str, ...] | None) -> str:
    return "\n".join(
        f"HTTP {a.status_code}: {a.text[:2000] or '(empty body)'}" for _, a in _push_exchanges(recorder, paths)
    )
