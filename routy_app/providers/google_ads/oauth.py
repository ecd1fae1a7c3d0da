"""Google OAuth 2.0 for a web server app: consent with PKCE (S256), code exchange, refresh and revoke.

One consent covers reporting (adwords) and conversions (datamanager), offline, so a refresh token comes
back. Granular consent lets a user untick a scope: `missing_scopes` says which. `invalid_grant` on a
refresh means the grant is gone (revoked, or a "Testing" app's 7-day limit): AuthExpired.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from routy_app.providers.errors import AuthExpired, PermanentError, RateLimited, TransientError
from routy_app.providers.google_ads.endpoints import GoogleEndpoints
from routy_app.providers.google_ads.errors import send
from routy_app.providers.retry import RetryPolicy, parse_duration, with_retries
from routy_app.providers.values import Credentials

ADWORDS_SCOPE = "https://www.googleapis.com/auth/adwords"
DATAMANAGER_SCOPE = "https://www.googleapis.com/auth/datamanager"
SCOPES = (ADWORDS_SCOPE, DATAMANAGER_SCOPE)
# An OAuth app whose consent screen is in "Testing" gets refresh tokens that end 7 days after consent
# (https://developers.google.com/identity/protocols/oauth2#expiration).
TESTING_GRANT_LIFETIME = dt.timedelta(days=7)


def authorization_url(endpoints: GoogleEndpoints, state: str, code_verifier: str, redirect_uri: str) -> str:
    """One consent for reporting (adwords) and ingestion (datamanager), offline, PKCE S256."""
    params = {
        "client_id": endpoints.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(SCOPES),
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "state": state,
        "code_challenge": create_s256_code_challenge(code_verifier),
        "code_challenge_method": "S256",
    }
    return f"{endpoints.auth_url}?{urlencode(params, quote_via=quote)}"


def missing_scopes(creds: Credentials) -> list[str]:
    """Scopes Routy needs that the user did not grant (granular consent lets them untick one)."""
    granted = set(creds.scope.split())
    return [s for s in SCOPES if s not in granted]


async def token(
    http: httpx.AsyncClient, endpoints: GoogleEndpoints, retry: RetryPolicy, form: dict[str, str], *, refreshing: bool
) -> dict[str, Any]:
    """POST the token endpoint; a refused refresh (invalid_grant) is AuthExpired, other 4xx PermanentError."""
    data = {**form, "client_id": endpoints.client_id, "client_secret": endpoints.client_secret}

    async def call() -> dict[str, Any]:
        resp = await send(http, "POST", endpoints.token_url, data=data, headers={"Accept": "application/json"})
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.is_success:
            if not isinstance(body, dict) or not body.get("access_token"):
                raise TransientError("Google returned a malformed token response", status_code=resp.status_code)
            return body
        body = body if isinstance(body, dict) else {}
        error = str(body.get("error") or "")
        text = str(body.get("error_description") or error or f"Google returned HTTP {resp.status_code}")
        common: dict[str, Any] = {"status_code": resp.status_code, "code": error or None}
        if resp.status_code == 429:
            raise RateLimited(text, retry_after=parse_duration(resp.headers.get("retry-after")), **common)
        if resp.status_code >= 500:
            raise TransientError(text, **common)
        if refreshing and error in ("invalid_grant", "unauthorized_client"):
            raise AuthExpired(text, **common)
        raise PermanentError(text, **common)

    return await with_retries(call, retry)


def credentials(body: dict[str, Any], previous: Credentials | None, *, testing_app: bool) -> Credentials:
    """Credentials from a token answer; a refresh keeps the refresh token, grant time and scope it had."""
    now = dt.datetime.now(dt.UTC)
    expires_in = body.get("expires_in")
    expires_at = now + dt.timedelta(seconds=float(expires_in)) if expires_in not in (None, "") else None
    new_grant = previous is None or bool(body.get("refresh_token"))
    # Google ends a consent given to an OAuth app in "Testing" after 7 days and then says so in the
    # token answer (`refresh_token_expires_in`, seconds); GOOGLE_OAUTH_TESTING covers answers without it.
    rt_expires_in = body.get("refresh_token_expires_in")
    grant_expires_at: dt.datetime | None
    if rt_expires_in not in (None, ""):
        grant_expires_at = now + dt.timedelta(seconds=float(rt_expires_in))
    elif new_grant or previous is None:
        grant_expires_at = now + TESTING_GRANT_LIFETIME if testing_app else None
    else:
        grant_expires_at = previous.grant_expires_at
    return Credentials(
        access_token=str(body["access_token"]),
        refresh_token=body.get("refresh_token") or (previous.refresh_token if previous else None),
        expires_at=expires_at,
        scope=str(body.get("scope") or (previous.scope if previous else "")),
        extra=dict(previous.extra) if previous else {},
        granted_at=now if new_grant or previous is None else previous.granted_at,
        grant_expires_at=grant_expires_at,
    )


async def revoke(http: httpx.AsyncClient, endpoints: GoogleEndpoints, retry: RetryPolicy, creds: Credentials) -> None:
    """Revoke the grant (the refresh token when there is one); an already dead token counts as revoked."""
    revoked = creds.refresh_token or creds.access_token
    if not revoked:
        return

    async def call() -> None:
        resp = await send(http, "POST", endpoints.revoke_url, data={"token": revoked})
        if resp.status_code == 400:
            return  # invalid_token: expired or already revoked
        if resp.status_code == 429:
            raise RateLimited(
                "Google throttled the revoke call",
                status_code=429,
                retry_after=parse_duration(resp.headers.get("retry-after")),
            )
        if resp.status_code >= 500:
            raise TransientError(f"Google returned HTTP {resp.status_code} on revoke", status_code=resp.status_code)
        if not resp.is_success:
            raise PermanentError(f"Google refused the revoke (HTTP {resp.status_code})", status_code=resp.status_code)

    await with_retries(call, retry)
