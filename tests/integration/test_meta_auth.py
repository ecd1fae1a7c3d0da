"""Meta login against the sandbox: dialog page -> Allow/Deny -> code -> long-lived token, refresh, revoke."""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from routy_app.providers.errors import AuthExpired, PermanentError
from routy_app.providers.meta_ads.adapter import MetaAdsProvider
from routy_app.providers.meta_ads.endpoints import MetaEndpoints
from routy_app.sandbox.core.state import SandboxState
from tests.integration.conftest import FAST_RETRY
from tests.integration.consent import consent, open_consent, press, redirect_query
from tests.integration.factories import META_REDIRECT as REDIRECT
from tests.integration.factories import authorize, meta_provider  # noqa: F401 - fixture


def test_authorization_url_is_the_classic_dialog(provider: MetaAdsProvider, meta_endpoints: MetaEndpoints) -> None:
    url = provider.authorization_url("abc", "verifier", REDIRECT)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert url.startswith(f"{meta_endpoints.dialog_base_url}/{meta_endpoints.api_version}/dialog/oauth?")
    assert query["client_id"] == [meta_endpoints.app_id]
    assert query["scope"] == ["ads_read,ads_management,business_management"]
    assert query["redirect_uri"] == [REDIRECT] and query["state"] == ["abc"]
    assert "code_challenge" not in query  # Meta's web flow has no PKCE


async def test_consent_page_is_a_real_page_with_allow_and_deny(
    provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient
) -> None:
    page, parsed = await open_consent(sandbox_http, provider.authorization_url("<b>x</b>", "v", REDIRECT))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert parsed.headings == ["Routy wants to access your Meta ad accounts"]
    assert set(parsed.buttons) == {"Allow", "Deny"}
    for scope in ("ads_read", "ads_management", "business_management"):
        assert scope in page.text
    assert "<b>x</b>" not in page.text and parsed.hidden["state"] == "<b>x</b>"  # escaped, round-trips intact


async def test_allow_exchanges_code_for_a_long_lived_token(
    provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient, sandbox_state: SandboxState
) -> None:
    creds = await authorize(provider, sandbox_http, REDIRECT)
    assert creds.refresh_token is None
    lifetime = sandbox_state.config.meta_long_lived_lifetime
    remaining = (creds.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
    assert lifetime - 30 < remaining <= lifetime  # about 60 days
    issued = sandbox_state.tokens.get(creds.access_token)
    assert issued is not None and issued.extra["lived"] == "long"
    assert issued.scope == "ads_read,ads_management,business_management"


async def test_code_is_single_use_and_redirect_uri_must_match(
    provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient
) -> None:
    code = (await consent(sandbox_http, provider.authorization_url("s", "v", REDIRECT)))["code"]
    with pytest.raises(PermanentError) as mismatch:
        await provider.exchange_code(code, "v", REDIRECT + "/other")
    assert mismatch.value.code == "100/36008" and "redirect_uri" in mismatch.value.message
    await provider.exchange_code(code, "v", REDIRECT)
    with pytest.raises(PermanentError) as reused:
        await provider.exchange_code(code, "v", REDIRECT)
    assert reused.value.code == "100/36009"


async def test_deny_returns_access_denied(provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient) -> None:
    answer = await press(sandbox_http, provider.authorization_url("st-deny", "v", REDIRECT), "Deny")
    assert answer.status_code in (302, 303) and answer.headers["location"].startswith(REDIRECT)
    query = redirect_query(answer)
    assert query["error"] == "access_denied" and query["error_reason"] == "user_denied"
    assert query["state"] == "st-deny" and "code" not in query and query["error_description"]


async def test_dialog_refuses_unknown_app_and_bad_redirect(
    provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient, meta_endpoints: MetaEndpoints
) -> None:
    other = MetaAdsProvider(dataclasses.replace(meta_endpoints, app_id="999"), sandbox_http)
    page = await sandbox_http.get(other.authorization_url("s", "v", REDIRECT))
    assert page.status_code == 400 and "Invalid App ID" in page.text
    page = await sandbox_http.get(provider.authorization_url("s", "v", "javascript:alert(1)"))
    assert page.status_code == 400 and "URL blocked" in page.text


async def test_wrong_app_secret_is_permanent(
    provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient, meta_endpoints: MetaEndpoints
) -> None:
    code = (await consent(sandbox_http, provider.authorization_url("s", "v", REDIRECT)))["code"]
    wrong = MetaAdsProvider(dataclasses.replace(meta_endpoints, app_secret="nope"), sandbox_http, retry=FAST_RETRY)
    with pytest.raises(PermanentError) as caught:
        await wrong.exchange_code(code, "v", REDIRECT)
    assert caught.value.message == "Error validating client secret." and "nope" not in str(caught.value)


async def test_refresh_keeps_a_valid_token_and_refuses_an_expired_one(
    provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient, sandbox_state: SandboxState
) -> None:
    creds = await authorize(provider, sandbox_http, REDIRECT)
    assert await provider.refresh(creds) is creds
    sandbox_state.tokens.expire(creds.access_token)
    with pytest.raises(AuthExpired) as caught:
        await provider.refresh(creds)
    assert caught.value.message == "Meta tokens cannot be refreshed; reconnect"
    assert caught.value.code == "190/463"


async def test_revoke_removes_permissions(provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient) -> None:
    creds = await authorize(provider, sandbox_http, REDIRECT)
    await provider.revoke(creds)
    with pytest.raises(AuthExpired) as caught:
        await provider.list_accounts(creds)
    assert caught.value.code == "190/458"
    with pytest.raises(AuthExpired):
        await provider.refresh(creds)
    await provider.revoke(creds)  # revoking a dead token is a no-op


async def test_debug_token_wire_shape(
    provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient, meta_endpoints: MetaEndpoints
) -> None:
    creds = await authorize(provider, sandbox_http, REDIRECT)
    url = f"{meta_endpoints.graph_base_url}/{meta_endpoints.api_version}/debug_token"
    app_token = f"{meta_endpoints.app_id}|{meta_endpoints.app_secret}"
    good = (await sandbox_http.get(url, params={"input_token": creds.access_token, "access_token": app_token})).json()
    assert good["data"]["is_valid"] is True and good["data"]["type"] == "USER"
    assert good["data"]["app_id"] == meta_endpoints.app_id and "ads_read" in good["data"]["scopes"]
    bad = (await sandbox_http.get(url, params={"input_token": "EAAnothing", "access_token": app_token})).json()
    assert bad["data"]["is_valid"] is False and bad["data"]["error"]["code"] == 190
    refused = await sandbox_http.get(url, params={"input_token": creds.access_token, "access_token": "1|wrong"})
    assert refused.status_code == 400 and refused.json()["error"]["type"] == "OAuthException"
