"""The one door for an integration's authorised calls, and the job that keeps its tokens fresh."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import time
from collections.abc import AsyncIterator
from typing import NamedTuple

import httpx
from sqlmodel import col, select

from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus, key_of
from routy_app.providers import registry
from routy_app.providers.errors import AuthExpired, ProviderError
from routy_app.providers.protocols import Provider
from routy_app.providers.values import Account, Credentials
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations.credentials import (
    ConnectionProblem,
    account_of,
    get_integration,
    load_credentials,
    persist_refreshed,
)
from routy_app.services.integrations.health import describe_error, mark_auth_failed
from routy_app.timeutil import utcnow

log = logging.getLogger("routy.connections")

REFRESH_MARGIN_SECONDS = 300

__all__ = ["ConnectionProblem", "ProviderSession", "provider_session", "refresh_expiring_tokens"]


class ProviderSession(NamedTuple):
    """What the door hands out: the adapter (built with the refresh callback), fresh credentials, the account."""

    provider: Provider
    creds: Credentials
    account: Account


@contextlib.asynccontextmanager
async def provider_session(
    hub: ProviderHub,
    integration_id: int,
    *,
    http: httpx.AsyncClient | None = None,
    refresh_within: float | None = REFRESH_MARGIN_SECONDS,
) -> AsyncIterator[ProviderSession]:
    """The one door for an integration's authorised calls.

    1. Reads the stored credentials and account in one short transaction (no session is held after it).
    2. Builds the adapter with a callback that stores every token it refreshes (in its own transaction).
    3. Refreshes first when the access token expires within `refresh_within` seconds (None: never).
    4. An AuthExpired, from the refresh or from the block, marks the integration Reconnection Required,
       once, and propagates; bodies never mark it themselves. Other errors pass through untouched.
    Raises ConnectionProblem when the integration or its stored authorisation is gone.
    """
    with session_scope() as session:
        integration = get_integration(session, integration_id)
        creds = load_credentials(integration)
        provider_key, account = integration.provider, account_of(integration)
        if integration.token_expires_at is not None:  # the column is what the scheduler watches
            creds = dataclasses.replace(creds, expires_at=integration.token_expires_at)
    provider = hub.provider(provider_key, http=http, on_refresh=functools.partial(persist_refreshed, integration_id))
    try:
        if refresh_within is not None and creds.refresh_token and creds.expires_within(refresh_within):
            creds = await provider.refresh(creds)
        yield ProviderSession(provider, creds, account)
    except AuthExpired as exc:
        name = registry.display_name(provider_key)
        mark_auth_failed(integration_id, f"{name} refused the authorisation: {describe_error(exc)}")
        raise


async def refresh_expiring_tokens(hub: ProviderHub, within_seconds: int = 900) -> int:
    """Refresh every access token that expires soon (the scheduler runs this); returns how many."""
    horizon = utcnow() + dt.timedelta(seconds=within_seconds)
    with session_scope() as session:
        ids = session.exec(
            select(Integration.id).where(
                col(Integration.token_expires_at).is_not(None),
                col(Integration.token_expires_at) < horizon,
                col(Integration.status).in_(
                    [
                        IntegrationStatus.ACTIVE,
                        IntegrationStatus.PAUSED,
                        IntegrationStatus.NEEDS_ATTENTION,
                        IntegrationStatus.PENDING_ACCOUNT,
                    ]
                ),
            )
        ).all()
    refreshed = 0
    for integration_id in ids:
        try:
            before = time.monotonic()
            async with provider_session(hub, key_of(integration_id), refresh_within=within_seconds):
                pass
            refreshed += 1
            log.info("refreshed token of integration %s in %.0f ms", integration_id, (time.monotonic() - before) * 1000)
        except (ProviderError, ConnectionProblem) as exc:
            log.warning("token refresh of integration %s failed: %s", integration_id, exc.message)
    return refreshed
