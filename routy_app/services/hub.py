"""Builds provider adapters with one shared HTTP client: the services' only way to a provider.

The app uses `ProviderHub.from_settings()`; tests build a hub whose client is served in-process by
the sandbox (httpx.ASGITransport), so engine + adapters run for real without a network. Services do not
call `provider()` for an integration's authorised calls: they go through
`services.integrations.access.provider_session`, which builds the adapter with a refresh callback.
"""

from __future__ import annotations

import httpx

from routy_app import routes
from routy_app.config import Settings, get_settings
from routy_app.outbound.guard import guarded_client
from routy_app.providers import registry
from routy_app.providers.context import OnRefresh, ProviderContext
from routy_app.providers.protocols import Provider
from routy_app.providers.retry import DEFAULT_POLICY, RetryPolicy

HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ProviderHub:
    """Settings + an httpx client + the retry policy; hands out fresh adapters."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        public_url: str,
        retry: RetryPolicy = DEFAULT_POLICY,
        sandbox_base: str | None = None,
    ) -> None:
        self.settings = settings
        self.http = http
        self.public_url = public_url.rstrip("/")
        self.retry = retry
        self.sandbox_base = sandbox_base

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ProviderHub:
        settings = settings or get_settings()
        # connections pinned to checked addresses: never a link-local or metadata one (outbound/guard.py)
        client = guarded_client(HTTP_TIMEOUT)
        return cls(settings, client, settings.public_url)

    def provider(
        self, key: str, *, http: httpx.AsyncClient | None = None, on_refresh: OnRefresh | None = None
    ) -> Provider:
        """A fresh adapter for `key`; `http` replaces the shared client (Validate push records through its own)."""
        ctx = ProviderContext(self.settings, http or self.http, self.retry, self.sandbox_base, on_refresh)
        return registry.build(key, ctx)

    def with_retry(self, retry: RetryPolicy) -> ProviderHub:
        return ProviderHub(self.settings, self.http, self.public_url, retry, self.sandbox_base)

    def redirect_uri(self, key: str) -> str:
        return routes.oauth_callback(self.public_url, key)

    async def aclose(self) -> None:
        await self.http.aclose()


_default_hub: ProviderHub | None = None


def default_hub() -> ProviderHub:
    """The process-wide hub (one connection pool) used by the UI, the API and the scheduler."""
    global _default_hub
    if _default_hub is None:
        _default_hub = ProviderHub.from_settings()
    return _default_hub
