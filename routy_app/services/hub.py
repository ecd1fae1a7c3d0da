"""Builds provider adapters with one shared HTTP client: the services' only door to providers.

The app uses `ProviderHub.from_settings()`; tests build a hub whose client is served in-process by
the sandbox (httpx.ASGITransport), so engine + adapters run for real without a network.
"""

from __future__ import annotations

import httpx

from routy_app.config import Settings, get_settings
from routy_app.providers.base import Provider
from routy_app.providers.endpoints import Endpoints
from routy_app.providers.registry import build_provider
from routy_app.providers.retry import DEFAULT_POLICY, RetryPolicy

HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ProviderHub:
    """Endpoints + an httpx client + the retry policy; hands out fresh adapters."""

    def __init__(
        self, endpoints: Endpoints, http: httpx.AsyncClient, public_url: str, retry: RetryPolicy = DEFAULT_POLICY
    ) -> None:
        self.endpoints = endpoints
        self.http = http
        self.public_url = public_url.rstrip("/")
        self.retry = retry

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ProviderHub:
        settings = settings or get_settings()
        return cls(Endpoints.from_settings(settings), httpx.AsyncClient(timeout=HTTP_TIMEOUT), settings.public_url)

    def provider(self, key: str) -> Provider:
        return build_provider(key, self.endpoints, self.http, self.retry)

    def redirect_uri(self, key: str) -> str:
        return f"{self.public_url}/oauth/{key}/callback"

    async def aclose(self) -> None:
        await self.http.aclose()


_default_hub: ProviderHub | None = None


def default_hub() -> ProviderHub:
    """The process-wide hub (one connection pool) used by the UI, the API and the scheduler."""
    global _default_hub
    if _default_hub is None:
        _default_hub = ProviderHub.from_settings()
    return _default_hub
