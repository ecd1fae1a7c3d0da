"""The sandbox refuses API versions the providers have switched off, the way the real hosts do."""

from __future__ import annotations

import httpx

from routy_app.providers.values import Credentials
from tests.integration.factories import google, google_creds  # noqa: F401 - fixtures

US = "1234567890"


async def test_a_sunset_google_ads_version_is_refused(
    sandbox_http: httpx.AsyncClient,
    google_endpoints,
    creds: Credentials,
) -> None:
    """Every request to v22 fails since 2026-10-07: 400 requestError UNSUPPORTED_VERSION, as googleads answers."""
    answer = await sandbox_http.post(
        f"{google_endpoints.ads_base_url}/v22/customers/{US}/googleAds:search",
        json={"query": "SELECT customer.id FROM customer"},
        headers={"Authorization": f"Bearer {creds.access_token}"},
    )
    assert answer.status_code == 400, answer.text
    failure = answer.json()["error"]["details"][0]
    assert failure["@type"] == "type.googleapis.com/google.ads.googleads.v22.errors.GoogleAdsFailure"
    assert failure["errors"][0]["errorCode"] == {"requestError": "UNSUPPORTED_VERSION"}
    assert "v22" in failure["errors"][0]["message"]


async def test_an_expired_meta_marketing_api_version_is_refused(
    sandbox_http: httpx.AsyncClient,
    meta_endpoints,
    sandbox_state,
) -> None:
    """Marketing API v24.0 expired on 2026-11-10: Graph answers error 2635 (deprecated Ads API version)."""
    token = sandbox_state.tokens.issue("meta", "access", 3600, "ads_read,ads_management", prefix="EAA").value
    answer = await sandbox_http.get(
        f"{meta_endpoints.graph_base_url}/v24.0/me/adaccounts", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == 2635
    alive = await sandbox_http.get(
        f"{meta_endpoints.graph_base_url}/v25.0/me/adaccounts", headers={"Authorization": f"Bearer {token}"}
    )
    assert alive.status_code == 200, alive.text
