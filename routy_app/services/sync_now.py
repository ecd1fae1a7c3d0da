"""Sync Now: what the button runs for an integration (a pull, or for a push-only integration its queue),
audited with who asked."""

from __future__ import annotations

from typing import Protocol

from routy_app.db import session_scope
from routy_app.models import Direction, Integration
from routy_app.services import push
from routy_app.services.audit import Actor, AuditAction, record_by
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations.credentials import get_integration
from routy_app.services.pull import run_pull
from routy_app.statuses import RunKind, RunTrigger


class Outcome(Protocol):
    """What a run reports back (a pull's RunSummary or a push's PushSummary)."""

    @property
    def status(self) -> str: ...

    @property
    def message(self) -> str: ...


def kind_of(integration: Integration) -> RunKind:
    """A push-only integration's Sync Now sends its queue; every other one pulls."""
    return RunKind.PUSH if integration.direction == Direction.PUSH else RunKind.PULL


async def sync_now(hub: ProviderHub, integration_id: int, trigger: RunTrigger, *, actor: Actor) -> Outcome:
    """Run it now; raises the engines' refusals (RunRefused, AlreadyRunning) as they are."""
    with session_scope() as session:
        integration = get_integration(session, integration_id)
        kind = kind_of(integration)
        action = AuditAction.FULL_SYNC_REQUESTED if trigger == RunTrigger.FULL else AuditAction.SYNC_REQUESTED
        record_by(session, actor, action, integration_id=integration_id)
        session.commit()
    if kind == RunKind.PUSH:
        return await push.run_push(hub, integration_id, RunTrigger.MANUAL)
    return await run_pull(hub, integration_id, trigger)
