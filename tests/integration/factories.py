"""Build real connected integrations through the services and the in-process sandbox."""

from __future__ import annotations

import pytest

from routy_app.services import connections
from routy_app.services.hub import ProviderHub
from tests.integration.conftest import FAST_RETRY, SANDBOX_ORIGIN
from tests.integration.consent import consent


@pytest.fixture
def hub(db, endpoints, sandbox_http) -> ProviderHub:
    """Adapters wired to the in-process sandbox, with a retry policy that never sleeps."""
    return ProviderHub(endpoints, sandbox_http, SANDBOX_ORIGIN, FAST_RETRY)


async def connected_integration(hub: ProviderHub, provider: str = "google_ads", account_id: str | None = None,
                                source_id: int = 1) -> int:
    """OAuth (Allow on the sandbox consent page) + account choice; returns an Active integration's id.

    GA4 is set up with the sandbox's demo stream instead. `account_id` defaults to the first
    selectable account (Google: 1234567890, Meta: the first act_ account).
    """
    if provider == "ga4":
        integration = await connections.setup_manual(
            hub, source_id, "ga4", {"measurement_id": "G-ROUTY12345", "api_secret": "sandbox-mp-secret"})
        return int(integration.id)
    url = await connections.start_oauth(hub, source_id, provider)
    outcome = await connections.complete_oauth(hub, provider, await consent(hub.http, url, "allow"))
    assert outcome.ok, outcome.message
    choices = await connections.list_account_choices(hub, outcome.integration_id)
    chosen = account_id or next(c.id for c in choices if c.selectable)
    await connections.select_account(hub, outcome.integration_id, chosen)
    return int(outcome.integration_id)
