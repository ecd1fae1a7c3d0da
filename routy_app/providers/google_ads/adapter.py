"""The Google Ads adapter: Google Ads API (accounts, reports, conversion actions) + Data Manager (conversions).

A thin class over the package's modules, so the services see one object with the abilities its
definition declares. It keeps no state the caller must read back: refreshed tokens go to `on_refresh`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx

from routy_app.providers.context import OnRefresh
from routy_app.providers.definition import ProviderDefinition
from routy_app.providers.google_ads import DEFINITION, conversions, oauth, reports, rules, setup_checks, verdicts
from routy_app.providers.google_ads.api import GoogleApi
from routy_app.providers.google_ads.endpoints import GoogleEndpoints
from routy_app.providers.retry import DEFAULT_POLICY, RetryPolicy
from routy_app.providers.setup_checks import CheckResult
from routy_app.providers.values import (
    Account,
    ConversionAction,
    Credentials,
    Level,
    MetricRecord,
    OutgoingConversion,
    PushResult,
    Verdict,
)
from routy_app.providers.versions import VersionStatus


class GoogleAdsProvider:
    """Google Ads through the Google Ads API (pull) and the Data Manager API (push)."""

    definition: ClassVar[ProviderDefinition] = DEFINITION

    def __init__(
        self,
        endpoints: GoogleEndpoints,
        http: httpx.AsyncClient,
        retry: RetryPolicy = DEFAULT_POLICY,
        *,
        on_refresh: OnRefresh | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.api = GoogleApi(endpoints, http, retry, on_refresh)

    # ------------------------------------------------------------ OAuth

    def authorization_url(self, state: str, code_verifier: str, redirect_uri: str) -> str:
        return oauth.authorization_url(self.endpoints, state, code_verifier, redirect_uri)

    missing_scopes = staticmethod(oauth.missing_scopes)

    @property
    def retry(self) -> RetryPolicy:
        return self.api.retry

    @retry.setter
    def retry(self, policy: RetryPolicy) -> None:
        self.api.retry = policy

    async def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> Credentials:
        return await self.api.exchange_code(code, code_verifier, redirect_uri)

    async def refresh(self, creds: Credentials) -> Credentials:
        return await self.api.refresh(creds)

    async def revoke(self, creds: Credentials) -> None:
        await oauth.revoke(self.api.http, self.endpoints, self.api.retry, creds)

    # ------------------------------------------------------------ Google Ads API

    async def accessible_customer_ids(self, creds: Credentials) -> list[str]:
        return await self.api.accessible_customer_ids(creds)

    async def search_stream(
        self, creds: Credentials, customer_id: str, query: str, login_customer_id: str | None = None
    ) -> list[dict[str, Any]]:
        return await self.api.search_stream(creds, customer_id, query, login_customer_id)

    async def list_accounts(self, creds: Credentials) -> list[Account]:
        return await reports.list_accounts(self.api, creds)

    async def test_connection(self, creds: Credentials, account: Account) -> None:
        await reports.test_connection(self.api, creds, account)

    def fetch_metrics(
        self, creds: Credentials, account: Account, level: Level, start: dt.date, end: dt.date
    ) -> AsyncIterator[list[MetricRecord]]:
        return reports.fetch_metrics(self.api, creds, account, level, start, end)

    async def list_conversion_actions(self, creds: Credentials, account: Account) -> list[ConversionAction]:
        return await reports.list_conversion_actions(self.api, creds, account)

    async def conversion_action(self, creds: Credentials, account: Account, action_id: str) -> ConversionAction | None:
        return await reports.conversion_action(self.api, creds, account, action_id)

    async def check_action(self, creds: Credentials, account: Account, action_id: str) -> ConversionAction:
        """The live action a new mapping targets, looked up by id whatever its type and status (a stale list
        or a typed id cannot slip through); SetupFieldError says why it cannot be a destination."""
        action = await self.conversion_action(creds, account, action_id)
        return rules.usable_action(account, action_id, action)

    # ------------------------------------------------------------ Data Manager API

    async def push_conversions(
        self, creds: Credentials, account: Account, batch: list[OutgoingConversion], *, validate_only: bool = False
    ) -> list[PushResult]:
        return await conversions.push_conversions(
            self.api, creds, account, batch, validate_only=validate_only, batch_limit=DEFINITION.push_batch_limit
        )

    async def check_verdict(self, creds: Credentials, request_id: str) -> Verdict:
        return await verdicts.check_verdict(self.api, creds, request_id)

    def describe_verdict(self, verdict: Verdict) -> tuple[str, str]:
        return verdicts.describe(verdict)

    # ------------------------------------------------------------ set-up checks

    async def check_setup(
        self,
        creds: Credentials,
        account: Account,
        version: VersionStatus | None,
        mapped: dict[str, str],
        *,
        sandbox: bool,
    ) -> list[CheckResult]:
        return await setup_checks.check(self, creds, account, version, mapped, sandbox=sandbox)
