"""The one authorised HTTP client of the Google adapter: Bearer token, developer token, login-customer-id.

Why a class: every Google call needs the freshest access token of the grant. A call refreshes first when
the token is about to expire, and once more on a 401; each refresh is handed to `on_refresh` (the
services store it: services/integrations/access.py) and kept privately for the next call of the same
session, so a report of many pages refreshes once, not once per page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from routy_app.providers.context import OnRefresh
from routy_app.providers.errors import AuthExpired, TransientError
from routy_app.providers.google_ads import oauth
from routy_app.providers.google_ads.endpoints import GoogleEndpoints
from routy_app.providers.google_ads.errors import Unauthenticated, decode, error_from, send
from routy_app.providers.retry import RetryPolicy, with_retries
from routy_app.providers.values import Credentials

log = logging.getLogger(__name__)
T = TypeVar("T")
REFRESH_MARGIN = 60.0  # refresh proactively when the access token has less than this many seconds left


class GoogleApi:
    def __init__(
        self, endpoints: GoogleEndpoints, http: httpx.AsyncClient, retry: RetryPolicy, on_refresh: OnRefresh | None
    ) -> None:
        self.endpoints = endpoints
        self.http = http
        self.retry = retry
        self._on_refresh = on_refresh
        self._latest: Credentials | None = None  # the freshest credentials this client obtained

    # ------------------------------------------------------------ tokens

    async def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> Credentials:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        body = await oauth.token(self.http, self.endpoints, self.retry, form, refreshing=False)
        self._latest = oauth.credentials(body, None, testing_app=self.endpoints.oauth_testing)
        return self._latest

    async def refresh(self, creds: Credentials) -> Credentials:
        if not creds.refresh_token:
            raise AuthExpired("No refresh token: reconnect Google Ads.", code="NO_REFRESH_TOKEN")
        form = {"grant_type": "refresh_token", "refresh_token": creds.refresh_token}
        body = await oauth.token(self.http, self.endpoints, self.retry, form, refreshing=True)
        self._latest = oauth.credentials(body, creds, testing_app=self.endpoints.oauth_testing)
        if self._on_refresh is not None:
            self._on_refresh(self._latest)
        return self._latest

    def _current(self, creds: Credentials) -> Credentials:
        """The freshest credentials of the same grant (a refresh during an earlier page wins)."""
        latest = self._latest
        if latest is not None and creds.refresh_token and latest.refresh_token == creds.refresh_token:
            return latest
        return creds

    async def authed(self, creds: Credentials, call: Callable[[str], Awaitable[T]]) -> T:
        """Run `call(access_token)` with retries; on 401 refresh once (if possible) and run it again."""
        creds = self._current(creds)
        if creds.refresh_token and (not creds.access_token or creds.expires_within(REFRESH_MARGIN)):
            creds = await self.refresh(creds)
        try:
            return await with_retries(lambda: call(creds.access_token), self.retry)
        except Unauthenticated:
            if not creds.refresh_token:
                raise
            log.info("Google answered 401; refreshing the access token once")
        fresh = await self.refresh(creds)
        return await with_retries(lambda: call(fresh.access_token), self.retry)

    # ------------------------------------------------------------ Google Ads API

    def ads_url(self, path: str) -> str:
        return f"{self.endpoints.ads_base_url}/{self.endpoints.api_version}/{path}"

    def ads_headers(self, token: str, login_customer_id: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if self.endpoints.developer_token:
            headers["developer-token"] = self.endpoints.developer_token
        if login_customer_id:
            headers["login-customer-id"] = str(login_customer_id).replace("-", "")
        return headers

    async def search_page(
        self, creds: Credentials, customer_id: str, query: str, page_token: str | None, login_customer_id: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query}
        if page_token:
            body["pageToken"] = page_token

        async def call(token: str) -> dict[str, Any]:
            resp = await send(
                self.http,
                "POST",
                self.ads_url(f"customers/{customer_id}/googleAds:search"),
                json=body,
                headers=self.ads_headers(token, login_customer_id),
            )
            page = decode(resp)
            if not isinstance(page, dict):
                raise TransientError("Google returned a malformed search page", status_code=resp.status_code)
            return page

        return await self.authed(creds, call)

    async def search_stream(
        self, creds: Credentials, customer_id: str, query: str, login_customer_id: str | None = None
    ) -> list[dict[str, Any]]:
        """All rows of a (small) query in one searchStream round trip; errors may arrive array-wrapped."""

        async def call(token: str) -> list[dict[str, Any]]:
            resp = await send(
                self.http,
                "POST",
                self.ads_url(f"customers/{customer_id}/googleAds:searchStream"),
                json={"query": query},
                headers=self.ads_headers(token, login_customer_id),
            )
            batches = decode(resp)
            if isinstance(batches, dict):
                batches = [batches]
            if not isinstance(batches, list):
                raise TransientError("Google returned a malformed searchStream response", status_code=resp.status_code)
            rows: list[dict[str, Any]] = []
            for batch in batches:
                if isinstance(batch, dict) and "error" in batch:  # an error after some batches (HTTP 200)
                    code = batch["error"].get("code") if isinstance(batch["error"], dict) else None
                    raise error_from(int(code or 500), batch, resp.headers)
                rows.extend((batch or {}).get("results") or [])
            return rows

        return await self.authed(creds, call)

    async def accessible_customer_ids(self, creds: Credentials) -> list[str]:
        """customers:listAccessibleCustomers: the customers the user reaches directly (no manager header)."""

        async def call(token: str) -> Any:
            resp = await send(
                self.http,
                "GET",
                self.ads_url("customers:listAccessibleCustomers"),
                headers=self.ads_headers(token, None),
            )
            return decode(resp)

        listing = await self.authed(creds, call)
        return [str(name).rsplit("/", 1)[-1] for name in (listing or {}).get("resourceNames") or []]

    # ------------------------------------------------------------ Data Manager API

    async def datamanager(self, creds: Credentials, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.endpoints.datamanager_base_url}/{path}"

        async def call(token: str) -> dict[str, Any]:
            resp = await send(
                self.http,
                method,
                url,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                **kwargs,
            )
            body = decode(resp)
            if not isinstance(body, dict):
                raise TransientError("Google returned a malformed Data Manager response", status_code=resp.status_code)
            return body

        return await self.authed(creds, call)
