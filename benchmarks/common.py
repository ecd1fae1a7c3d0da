"""Shared by the benchmarks: RSS sampling, a fresh SQLite environment, the in-process sandbox + hub,
and connecting a Google Ads integration through the sandbox's consent page."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import psutil

if TYPE_CHECKING:  # routy_app is imported only after fresh_environment() has set the environment
    from routy_app.providers.retry import RetryPolicy
    from routy_app.sandbox.core.state import SandboxState
    from routy_app.services.hub import ProviderHub

SANDBOX_ORIGIN = "http://sandbox.test"
GOOGLE_ACCOUNT = "1234567890"


class RssSampler:
    """Samples this process's RSS in a thread (every `interval` s) while in the `with` block."""

    def __init__(self, interval: float = 0.02) -> None:
        self.proc = psutil.Process()
        self.interval = interval
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        """The highest RSS seen."""
        return self.peak / 1_048_576

    @property
    def peak_delta_mb(self) -> float:
        """The highest RSS seen minus the RSS when the sampler was made."""
        return (self.peak - self.base) / 1_048_576


def fresh_environment(tmp: Path) -> None:
    """A fresh SQLite database in `tmp`, as tests/conftest.py does."""
    os.environ["ROUTY_DATA_DIR"] = str(tmp)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("ROUTY_SECRET_KEY", None)
    os.environ["ROUTY_PROVIDER_MODE"] = "sandbox"
    os.environ["PUBLIC_URL"] = SANDBOX_ORIGIN
    os.environ["ROUTY_SCHEDULER_ENABLED"] = "false"
    from routy_app import crypto
    from routy_app.config import reload_settings
    from routy_app.db import migrate, reset_engine

    reload_settings()
    crypto.get_box.cache_clear()
    reset_engine()
    migrate()


@asynccontextmanager
async def sandbox_hub(state: SandboxState, retry: RetryPolicy) -> AsyncIterator[ProviderHub]:
    """A ProviderHub whose httpx client (`hub.http`, 120 s timeout) is served by the in-process sandbox."""
    from routy_app.config import Settings
    from routy_app.sandbox.app import mounted_sandbox
    from routy_app.services.hub import ProviderHub

    settings = Settings(PUBLIC_URL=SANDBOX_ORIGIN, ROUTY_PROVIDER_MODE="sandbox")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=mounted_sandbox(state)), base_url=SANDBOX_ORIGIN, timeout=httpx.Timeout(120.0)
    ) as http:
        yield ProviderHub(settings, http, SANDBOX_ORIGIN, retry)


async def connect_google(hub: ProviderHub, account_id: str = GOOGLE_ACCOUNT) -> int:
    """OAuth against the sandbox's consent page + account choice: an Active Google integration's id."""
    from routy_app.services import integrations
    from tests.integration.consent import consent

    url = await integrations.start_oauth(hub, 1, "google_ads")
    outcome = await integrations.complete_oauth(hub, "google_ads", await consent(hub.http, url, "allow"))
    if not outcome.ok:
        raise SystemExit(outcome.message)
    await integrations.select_account(hub, outcome.integration_id, account_id)
    return int(outcome.integration_id)
