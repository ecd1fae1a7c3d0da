"""Managing a connected integration: test the connection, pause and resume, disconnect (and what that removes)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from routy_app.db import session_scope
from routy_app.models import (
    ConversionMapping,
    ConversionPush,
    Integration,
    IntegrationStatus,
    MetricRow,
    OAuthState,
    PushRequest,
    SyncRun,
)
from routy_app.providers import registry
from routy_app.providers.errors import AuthExpired, ProviderError
from routy_app.services import leases, rescheduling
from routy_app.services.audit import SYSTEM, Actor, AuditAction, record_by
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations.access import provider_session
from routy_app.services.integrations.credentials import ConnectionProblem, account_of, get_integration, load_credentials
from routy_app.services.integrations.health import describe_error
from routy_app.timeutil import utcnow


@dataclass(frozen=True)
class TestOutcome:
    ok: bool
    elapsed_ms: int
    message: str


async def check_connection(hub: ProviderHub, integration_id: int, *, actor: Actor = SYSTEM) -> TestOutcome:
    """A live call (audited); the answer carries the time it took and the provider's own error text."""
    outcome = await _test(hub, integration_id)
    with session_scope() as session:
        record_by(
            session,
            actor,
            AuditAction.TEST_CONNECTION,
            integration_id=integration_id,
            detail="OK" if outcome.ok else outcome.message,
        )
        session.commit()
    return outcome


async def _test(hub: ProviderHub, integration_id: int) -> TestOutcome:
    started = time.monotonic()
    with session_scope() as session:
        integration = get_integration(session, integration_id)
        provider_key, account = integration.provider, account_of(integration)
        if not integration.account_id:
            raise ConnectionProblem("Pick an account first.")
    name = registry.display_name(provider_key)
    try:
        async with provider_session(hub, integration_id) as (provider, creds, _):
            await provider.test_connection(creds, account)
    except AuthExpired as exc:
        return TestOutcome(False, _ms(started), f"{name} refused the authorisation: {exc.message}")
    except ProviderError as exc:
        return TestOutcome(False, _ms(started), f"{name} answered: {describe_error(exc)}")
    except ConnectionProblem as exc:
        return TestOutcome(False, _ms(started), exc.message)
    return TestOutcome(True, _ms(started), f"{name} answered OK.")


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def set_paused(integration_id: int, paused: bool, *, actor: Actor = SYSTEM) -> Integration:
    """Pause keeps everything (tokens, queue, history); Resume makes it Active again. Audited; the
    integration's pull job follows at once (here, or at the leader's next poll of changes)."""
    with session_scope() as session:
        integration = get_integration(session, integration_id)
        if integration.status in (IntegrationStatus.PENDING_ACCOUNT, IntegrationStatus.RECONNECT_REQUIRED):
            raise ConnectionProblem("Finish connecting (pick an account or reconnect) before pausing or resuming.")
        integration.status = IntegrationStatus.PAUSED if paused else IntegrationStatus.ACTIVE
        if not paused:
            integration.consecutive_failures = 0
        integration.updated_at = utcnow()
        session.add(integration)
        action = AuditAction.PAUSED if paused else AuditAction.RESUMED
        record_by(session, actor, action, integration_id=integration_id, source_id=integration.traffic_source_id)
        session.commit()
    rescheduling.reschedule(integration_id)
    return integration


async def disconnect(hub: ProviderHub, integration_id: int, *, actor: Actor = SYSTEM) -> str:
    """Revoke the token where the provider allows it, then delete the integration and all its data.

    Refused while a sync or push of it runs: the run would go on writing rows of a deleted integration.
    """
    if leases.is_running(integration_id) or leases.is_running(integration_id, scope="push"):
        raise ConnectionProblem("A sync or push of this integration is running; try again when it has finished.")
    with session_scope() as session:
        integration = get_integration(session, integration_id)
        provider_key = integration.provider
        creds = load_credentials(integration) if integration.credentials_enc else None
    name = registry.display_name(provider_key)
    note = ""
    if creds is not None and _grant_shared(integration_id, provider_key):
        note = (
            f" (Routy's access was not revoked at {name}: another traffic source is connected to {name}, "
            "possibly with the same login; remove Routy's access there if no source needs it)"
        )
        creds = None
    if creds is not None:
        try:
            await hub.provider(provider_key).revoke(creds)
        except ProviderError as exc:
            note = (
                f" (revoking the token at {name} failed: {getattr(exc, 'message', exc)}; remove Routy's access there)"
            )
    with session_scope() as session:
        for table in (ConversionPush, PushRequest, ConversionMapping, MetricRow, SyncRun):
            session.exec(delete(table).where(col(table.integration_id) == integration_id))
        session.exec(delete(OAuthState).where(col(OAuthState.integration_id) == integration_id))
        session.exec(delete(Integration).where(col(Integration.id) == integration_id))
        record_by(session, actor, AuditAction.DISCONNECTED, integration_id=integration_id, detail=name)
        session.commit()
    rescheduling.reschedule(integration_id)
    return f"{name} was disconnected and its data removed{note}."


def _grant_shared(integration_id: int, provider_key: str) -> bool:
    """True when another integration of this provider exists: it may use the same login, and a
    revoke ends the whole grant of that login (Google revokes the grant, Meta removes the app),
    which would break that integration too. Routy cannot tell logins apart, so it stays safe."""
    with session_scope() as session:
        return (
            session.exec(
                select(Integration.id).where(
                    Integration.provider == provider_key,
                    Integration.id != integration_id,
                    col(Integration.credentials_enc).is_not(None),
                )
            ).first()
            is not None
        )


def describe_removal(integration_id: int) -> str:
    """The confirmation text: what exactly Disconnect removes."""
    with session_scope() as session:
        integration = get_integration(session, integration_id)
        counts = {
            "metric row": _count(session, MetricRow, integration_id),
            "sync run": _count(session, SyncRun, integration_id),
            "conversion mapping": _count(session, ConversionMapping, integration_id),
            "push record": _count(session, ConversionPush, integration_id),
        }
        name = registry.display_name(integration.provider)
    parts = ", ".join(f"{n:,} {label}{'' if n == 1 else 's'}" for label, n in counts.items())
    return (
        f"Disconnecting {name} stops all syncing, revokes Routy's access token where {name} allows it, "
        f"and permanently deletes this integration with its settings and data ({parts}). "
        "Conversions stay in Routy."
    )


def _count(session: Session, table: Any, integration_id: int) -> int:
    return int(
        session.exec(select(func.count()).select_from(table).where(table.integration_id == integration_id)).one()
    )
