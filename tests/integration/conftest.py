"""Fixtures for engine + adapter tests against the sandbox served in-process (no network)."""

from __future__ import annotations

import httpx
import pytest

from routy_app.config import Settings
from routy_app.providers.endpoints import Endpoints
from routy_app.providers.retry import RetryPolicy
from routy_app.sandbox.app import mounted_sandbox
from routy_app.sandbox.core.state import SandboxConfig, SandboxState

SANDBOX_ORIGIN = "http://sandbox.test"


async def _no_sleep(_seconds: float) -> None:
    """Backoff waits are recorded by tenacity but not slept in tests."""


FAST_RETRY = RetryPolicy(max_attempts=4, initial=0.0, cap=0.0, max_hint=120.0, sleep=_no_sleep)


@pytest.fixture
def sandbox_state() -> SandboxState:
    return SandboxState(SandboxConfig())


@pytest.fixture
async def sandbox_http(sandbox_state: SandboxState):
    """An httpx client whose every request is served by the in-process sandbox."""
    transport = httpx.ASGITransport(app=mounted_sandbox(sandbox_state))
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX_ORIGIN) as client:
        yield client


@pytest.fixture
def endpoints() -> Endpoints:
    settings = Settings(PUBLIC_URL=SANDBOX_ORIGIN, ROUTY_PROVIDER_MODE="sandbox")
    return Endpoints.from_settings(settings)
