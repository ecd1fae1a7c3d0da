"""Fixtures for engine + adapter tests against the sandbox served in-process (no network)."""

from __future__ import annotations

import httpx
import pytest

from routy_app.config import Settings
from routy_app.providers.ga4.endpoints import GA4Endpoints
from routy_app.providers.google_ads.endpoints import GoogleEndpoints
from routy_app.providers.meta_ads.endpoints import MetaEndpoints
from routy_app.providers.retry import RetryPolicy
from routy_app.providers.values import Credentials
from routy_app.sandbox.app import mounted_sandbox
from routy_app.sandbox.core.state import SandboxConfig, SandboxState

SANDBOX_ORIGIN = "http://sandbox.test"


async def _no_sleep(_seconds: float) -> None:
    """Backoff waits are recorded by tenacity but not slept in tests."""


FAST_RETRY = RetryPolicy(max_attempts=4, initial=0.0, cap=0.0, max_hint=120.0, sleep=_no_sleep)


@pytest.fixture
def sandbox_state() -> SandboxState:
    # The OAuth clients' registered redirect URIs are the app's callbacks at provider_settings' PUBLIC_URL.
    return SandboxState(SandboxConfig(public_url=SANDBOX_ORIGIN))


@pytest.fixture
async def sandbox_http(sandbox_state: SandboxState):
    """An httpx client whose every request is served by the in-process sandbox."""
    transport = httpx.ASGITransport(app=mounted_sandbox(sandbox_state))
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX_ORIGIN) as client:
        yield client


@pytest.fixture
def refreshed() -> list[Credentials]:
    """Every credential the `google` adapter fixture refreshed on its own (its on_refresh callback)."""
    return []


@pytest.fixture
def provider_settings() -> Settings:
    """Settings whose provider hosts are the sandbox's mounts (served in-process by `sandbox_http`)."""
    return Settings(PUBLIC_URL=SANDBOX_ORIGIN, ROUTY_PROVIDER_MODE="sandbox")


@pytest.fixture
def google_endpoints(provider_settings: Settings) -> GoogleEndpoints:
    return GoogleEndpoints.from_settings(provider_settings)


@pytest.fixture
def meta_endpoints(provider_settings: Settings) -> MetaEndpoints:
    return MetaEndpoints.from_settings(provider_settings)


@pytest.fixture
def ga4_endpoints(provider_settings: Settings) -> GA4Endpoints:
    return GA4Endpoints.from_settings(provider_settings)
