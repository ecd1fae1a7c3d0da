"""Build real connected integrations through the services and the in-process sandbox.

- `hub` (fixture) + `connected_integration(hub, ...)`: an Active integration through the services.
- `authorize(adapter, http, redirect_uri)`: adapter-level OAuth (consent page + code exchange) -> Credentials.
- Adapter fixtures, imported by the modules that use them (`# noqa: F401 - fixture`):
  `google` + `google_creds` (as `creds`) for the test_google_* modules, `meta_provider` (as `provider`)
  + `meta_creds` (as `creds`) for the test_meta_* modules.
"""

from __future__ import annotations

import secrets

import httpx
import pytest

from routy_app import routes
from routy_app.config import Settings
from routy_app.providers.google_ads.adapter import GoogleAdsProvider
from routy_app.providers.google_ads.endpoints import GoogleEndpoints
from routy_app.providers.meta_ads.adapter import MetaAdsProvider
from routy_app.providers.meta_ads.endpoints import MetaEndpoints
from routy_app.providers.protocols import OAuthFlow
from routy_app.providers.values import Credentials
from routy_app.services import integrations
from routy_app.services.hub import ProviderHub
from tests.integration.conftest import FAST_RETRY, SANDBOX_ORIGIN
from tests.integration.consent import consent

# The app's callbacks at the test PUBLIC_URL (provider_settings): the redirect URIs the sandbox's OAuth
# clients have registered (sandbox_state fixture), as the hub builds them (routes.oauth_callback).
GOOGLE_REDIRECT = routes.oauth_callback(SANDBOX_ORIGIN, "google_ads")
META_REDIRECT = routes.oauth_callback(SANDBOX_ORIGIN, "meta_ads")


@pytest.fixture
def hub(db, provider_settings: Settings, sandbox_http) -> ProviderHub:
    """Adapters wired to the in-process sandbox, with a retry policy that never sleeps."""
    return ProviderHub(provider_settings, sandbox_http, SANDBOX_ORIGIN, FAST_RETRY)


async def connected_integration(
    hub: ProviderHub, provider: str = "google_ads", account_id: str | None = None, source_id: int = 1
) -> int:
    """OAuth (Allow on the sandbox consent page) + account choice; returns an Active integration's id.

    GA4 is set up with the sandbox's demo stream instead. `account_id` defaults to the first
    selectable account (Google: 1234567890, Meta: the first act_ account).
    """
    if provider == "ga4":
        integration = await integrations.setup_manual(
            hub, source_id, "ga4", {"measurement_id": "G-ROUTY12345", "api_secret": "sandbox-mp-secret"}
        )
        return int(integration.id)
    url = await integrations.start_oauth(hub, source_id, provider)
    outcome = await integrations.complete_oauth(hub, provider, await consent(hub.http, url, "allow"))
    assert outcome.ok, outcome.message
    choices = await integrations.list_account_choices(hub, outcome.integration_id)
    chosen = account_id or next(c.id for c in choices if c.selectable)
    await integrations.select_account(hub, outcome.integration_id, chosen)
    return int(outcome.integration_id)


async def authorize(
    adapter: OAuthFlow, http: httpx.AsyncClient, redirect_uri: str, state: str = "st-1", untick: tuple[str, ...] = ()
) -> Credentials:
    """Allow on the adapter's consent page (clearing the scopes in `untick`), then exchange the code."""
    verifier = secrets.token_urlsafe(48)  # PKCE for Google; Meta ignores it
    query = await consent(http, adapter.authorization_url(state, verifier, redirect_uri), "allow", untick)
    assert query["state"] == state
    return await adapter.exchange_code(query["code"], verifier, redirect_uri)


@pytest.fixture
def google(google_endpoints: GoogleEndpoints, sandbox_http: httpx.AsyncClient, refreshed) -> GoogleAdsProvider:
    return GoogleAdsProvider(google_endpoints, sandbox_http, retry=FAST_RETRY, on_refresh=refreshed.append)


@pytest.fixture(name="creds")
async def google_creds(google: GoogleAdsProvider, sandbox_http: httpx.AsyncClient) -> Credentials:
    return await authorize(google, sandbox_http, GOOGLE_REDIRECT)


@pytest.fixture(name="provider")
def meta_provider(meta_endpoints: MetaEndpoints, sandbox_http: httpx.AsyncClient) -> MetaAdsProvider:
    return MetaAdsProvider(meta_endpoints, sandbox_http, retry=FAST_RETRY)


@pytest.fixture(name="creds")
async def meta_creds(provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient) -> Credentials:
    return await authorize(provider, sandbox_http, META_REDIRECT)


def ga4_form(
    measurement_id: str, api_secret: str, property_id: str | None = None, service_account_json: str | None = None
) -> dict[str, str]:
    """GA4's set-up form's fields as the UI posts them."""
    return {
        "measurement_id": measurement_id,
        "api_secret": api_secret,
        "property_id": property_id or "",
        "service_account_json": service_account_json or "",
    }
