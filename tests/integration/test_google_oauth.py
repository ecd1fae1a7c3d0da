"""Google OAuth through the real adapter against the emulated identity server (consent page, PKCE, refresh, revoke)."""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest

from routy_app.providers.errors import AuthExpired, PermanentError
from routy_app.providers.google_ads.adapter import GoogleAdsProvider
from routy_app.providers.google_ads.oauth import ADWORDS_SCOPE, DATAMANAGER_SCOPE
from routy_app.providers.values import Credentials
from routy_app.sandbox.core.state import SandboxState
from tests.integration.consent import ConsentPage, press
from tests.integration.factories import GOOGLE_REDIRECT as REDIRECT_URI
from tests.integration.factories import authorize, google  # noqa: F401 - fixture


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_authorization_url_asks_for_both_scopes_offline_with_pkce(google: GoogleAdsProvider) -> None:
    q = _query(google.authorization_url("st", "v" * 50, REDIRECT_URI))
    assert q["scope"].split() == [ADWORDS_SCOPE, DATAMANAGER_SCOPE]
    assert (q["access_type"], q["prompt"], q["include_granted_scopes"]) == ("offline", "consent", "true")
    assert q["response_type"] == "code" and q["code_challenge_method"] == "S256"
    assert q["code_challenge"] != "v" * 50 and q["redirect_uri"] == REDIRECT_URI and q["state"] == "st"


async def test_consent_page_is_a_real_page_with_allow_and_deny(google: GoogleAdsProvider, sandbox_http) -> None:
    url = google.authorization_url("<script>alert(1)</script>", "v" * 50, REDIRECT_URI)
    page = await sandbox_http.get(url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parsed = ConsentPage(page.text)
    assert parsed.headings == ["Routy wants to access your Google Ads accounts"]
    assert set(parsed.buttons) == {"Allow", "Deny"}
    assert "Google Ads accounts and data" in page.text and "Data Manager API" in page.text
    assert "<script>alert(1)</script>" not in page.text  # user-controlled text is escaped


async def test_allow_redirects_with_code_state_and_scope_then_exchange(
    google: GoogleAdsProvider, sandbox_http, refreshed
) -> None:
    verifier = secrets.token_urlsafe(48)
    redirect = await press(sandbox_http, google.authorization_url("st-1", verifier, REDIRECT_URI), "Allow")
    assert redirect.status_code == 303
    location = redirect.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    q = _query(location)
    assert q["state"] == "st-1" and q["code"] and q["scope"] == f"{ADWORDS_SCOPE} {DATAMANAGER_SCOPE}"

    creds = await google.exchange_code(q["code"], verifier, REDIRECT_URI)
    assert creds.access_token and creds.refresh_token
    assert creds.scope.split() == [ADWORDS_SCOPE, DATAMANAGER_SCOPE]
    assert creds.expires_at is not None and creds.expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=55)
    assert refreshed == []  # a code exchange is not a refresh: the caller stores what it returns
    with pytest.raises(PermanentError) as reused:  # codes are single use
        await google.exchange_code(q["code"], verifier, REDIRECT_URI)
    assert reused.value.code == "invalid_grant"


async def test_deny_redirects_with_access_denied(google: GoogleAdsProvider, sandbox_http) -> None:
    redirect = await press(sandbox_http, google.authorization_url("st-2", "v" * 50, REDIRECT_URI), "Deny")
    assert redirect.status_code == 303
    assert _query(redirect.headers["location"]) == {"error": "access_denied", "state": "st-2"}


async def test_wrong_pkce_verifier_is_refused(google: GoogleAdsProvider, sandbox_http) -> None:
    redirect = await press(sandbox_http, google.authorization_url("st", "right-verifier-" * 4, REDIRECT_URI), "Allow")
    code = _query(redirect.headers["location"])["code"]
    with pytest.raises(PermanentError) as exc:
        await google.exchange_code(code, "wrong-verifier-" * 4, REDIRECT_URI)
    assert exc.value.code == "invalid_grant" and exc.value.message == "Invalid code verifier."


async def test_redirect_uri_must_match(google: GoogleAdsProvider, sandbox_http) -> None:
    verifier = "v" * 50
    redirect = await press(sandbox_http, google.authorization_url("st", verifier, REDIRECT_URI), "Allow")
    with pytest.raises(PermanentError) as exc:
        await google.exchange_code(_query(redirect.headers["location"])["code"], verifier, "http://evil.test/cb")
    assert exc.value.code == "redirect_uri_mismatch"


async def test_unknown_client_gets_an_error_page_not_a_redirect(google_endpoints, sandbox_http) -> None:
    url = f"{google_endpoints.auth_url}?client_id=someone-else&redirect_uri={REDIRECT_URI}&response_type=code&scope=x"
    page = await sandbox_http.get(url)
    assert page.status_code == 400 and "invalid_client" in page.text and "location" not in page.headers


async def test_granular_consent_scope_is_read_from_the_token_response(google: GoogleAdsProvider, sandbox_http) -> None:
    creds = await authorize(google, sandbox_http, REDIRECT_URI, untick=(DATAMANAGER_SCOPE,))
    assert creds.scope == ADWORDS_SCOPE
    assert GoogleAdsProvider.missing_scopes(creds) == [DATAMANAGER_SCOPE]
    accounts = await google.list_accounts(creds)  # reporting works with adwords alone ...
    with pytest.raises(PermanentError) as exc:  # ... Data Manager refuses the token
        await google.check_verdict(creds, "any")
    assert exc.value.status_code == 403 and exc.value.code == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert accounts


async def test_refresh_keeps_the_refresh_token_and_revoke_kills_it(
    google: GoogleAdsProvider, sandbox_http, refreshed
) -> None:
    creds = await authorize(google, sandbox_http, REDIRECT_URI)
    fresh = await google.refresh(creds)
    assert fresh.access_token != creds.access_token and fresh.refresh_token == creds.refresh_token
    assert fresh.scope == creds.scope and refreshed == [fresh]
    await google.revoke(fresh)
    with pytest.raises(AuthExpired) as exc:
        await google.refresh(fresh)
    assert exc.value.code == "invalid_grant" and exc.value.message == "Token has been expired or revoked."
    await google.revoke(fresh)  # revoking twice is harmless


async def test_api_401_refreshes_once_and_exposes_new_credentials(
    google: GoogleAdsProvider,
    sandbox_http,
    sandbox_state: SandboxState,
    refreshed,
) -> None:
    creds = await authorize(google, sandbox_http, REDIRECT_URI)
    assert sandbox_state.tokens.expire(creds.access_token)
    accounts = await google.list_accounts(creds)
    assert len(accounts) == 5
    assert refreshed and refreshed[-1].access_token != creds.access_token
    assert refreshed[-1].refresh_token == creds.refresh_token


async def test_revoked_grant_surfaces_as_auth_expired(
    google: GoogleAdsProvider,
    sandbox_http,
    sandbox_state: SandboxState,
) -> None:
    creds = await authorize(google, sandbox_http, REDIRECT_URI)
    sandbox_state.tokens.revoke(creds.refresh_token or "")  # e.g. the user removed Routy's access
    with pytest.raises(AuthExpired) as exc:
        await google.list_accounts(creds)
    assert exc.value.code == "invalid_grant"


async def test_expired_token_without_refresh_token_is_auth_expired(
    google: GoogleAdsProvider,
    sandbox_http,
    sandbox_state: SandboxState,
) -> None:
    creds = await authorize(google, sandbox_http, REDIRECT_URI)
    sandbox_state.tokens.expire(creds.access_token)
    with pytest.raises(AuthExpired) as exc:
        await google.list_accounts(Credentials(access_token=creds.access_token, scope=creds.scope))
    assert exc.value.status_code == 401 and exc.value.code == "OAUTH_TOKEN_EXPIRED"
    assert creds.access_token not in str(exc.value)  # secrets never in messages


async def test_token_endpoint_faults(google: GoogleAdsProvider, sandbox_http, sandbox_state: SandboxState) -> None:
    creds = await authorize(google, sandbox_http, REDIRECT_URI)
    sandbox_state.faults.add("google.token", "http_503", times=2, retry_after=1)
    assert (await google.refresh(creds)).access_token  # retried through two 503s
    sandbox_state.faults.add("google.token", "malformed")
    assert (await google.refresh(creds)).access_token  # a truncated body is transient
    sandbox_state.faults.add("google.token", "revoked_refresh")
    with pytest.raises(AuthExpired) as exc:
        await google.refresh(creds)
    assert exc.value.message == "Token has been expired or revoked."
