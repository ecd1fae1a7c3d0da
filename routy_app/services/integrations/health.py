"""How syncs change an integration's health: Reconnection Required, failures in a row, Needs attention.

The only place statuses change because of what a provider answered (alerts read them from here).
"""

from __future__ import annotations

from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus
from routy_app.providers.errors import ProviderError
from routy_app.timeutil import utcnow

FAILURES_BEFORE_ATTENTION = 3


def describe_error(exc: ProviderError) -> str:
    """The provider's own text plus its error code, as the user sees it."""
    code = f" [{exc.code}]" if exc.code and str(exc.code) not in exc.message else ""
    return f"{exc.message}{code}"


def mark_auth_failed(integration_id: int, message: str) -> None:
    """Authorisation refused for good: Reconnection Required, no scheduled syncs until reconnect."""
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return
        integration.status = IntegrationStatus.RECONNECT_REQUIRED
        integration.last_error = message
        integration.updated_at = utcnow()
        session.add(integration)
        session.commit()


def record_failure(integration_id: int, message: str) -> None:
    """A non-auth failure; the third in a row turns an Active integration to Needs attention."""
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return
        integration.consecutive_failures += 1
        integration.last_error = message
        integration.last_sync_at = utcnow()
        if (
            integration.consecutive_failures >= FAILURES_BEFORE_ATTENTION
            and integration.status == IntegrationStatus.ACTIVE
        ):
            integration.status = IntegrationStatus.NEEDS_ATTENTION
        session.add(integration)
        session.commit()


def record_partial(integration_id: int, message: str) -> None:
    """Part of a run went through, part failed: the card shows what failed (with counts) without counting
    it as a failure in a row (the connection works) or as a success (something still needs the user)."""
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return
        integration.last_error = message
        integration.last_sync_at = utcnow()
        session.add(integration)
        session.commit()


def record_success(integration_id: int) -> None:
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return
        integration.consecutive_failures = 0
        integration.last_error = None
        integration.last_success_at = integration.last_sync_at = utcnow()
        if integration.status == IntegrationStatus.NEEDS_ATTENTION:
            integration.status = IntegrationStatus.ACTIVE
        session.add(integration)
        session.commit()
