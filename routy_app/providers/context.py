"""What building an adapter needs: the settings (hosts, client ids, versions), the shared HTTP client,
the retry policy, where the sandbox is served, and whom to tell about refreshed tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from routy_app.config import Settings
from routy_app.providers.retry import DEFAULT_POLICY, RetryPolicy
from routy_app.providers.values import Credentials

OnRefresh = Callable[[Credentials], None]


@dataclass(frozen=True)
class ProviderContext:
    settings: Settings
    http: httpx.AsyncClient
    retry: RetryPolicy = DEFAULT_POLICY
    sandbox_base: str | None = None  # e.g. "http://sandbox.test/sandbox"; default: PUBLIC_URL's /sandbox
    on_refresh: OnRefresh | None = None  # called with every credential the adapter refreshed on its own


def sandbox_or_live(settings: Settings, explicit: str, sandbox_path: str, live: str, sandbox_base: str | None) -> str:
    """One base URL: the explicit setting, else the sandbox's mount in sandbox mode, else the real host."""
    base = (sandbox_base or settings.sandbox_url).rstrip("/")
    return (explicit or (base + sandbox_path if settings.is_sandbox else live)).rstrip("/")
