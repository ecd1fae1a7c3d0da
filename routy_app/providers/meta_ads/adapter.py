"""Meta Ads adapter: Facebook Login, Marketing API insights and the Conversions API.

Why: Routy pulls daily campaign / ad set / ad metrics from `act_{id}/insights` and pushes
conversions to `POST /{pixel_id}/events` (docs/providers/meta_ads.md). Notes on the choices made here:

- Login is Meta's classic web flow: no PKCE (`code_verifier` is ignored) and no refresh token; `refresh`
  can only confirm with `debug_token` that the long-lived token (~60 days) still works.
- Insights rows are read in `insights.py`, CAPI events built in `capi.py`, Graph's errors mapped in
  `graph.py`. The token travels in an `Authorization: Bearer` header, never in a URL.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import AsyncIterator
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from routy_app.providers.context import OnRefresh
from routy_app.providers.definition import ProviderDefinition
from routy_app.providers.errors import AuthExpired, PermanentError, TransientError
from routy_app.providers.meta_ads import DEFINITION, capi, insights, setup_checks
from routy_app.providers.meta_ads.capi import STANDARD_EVENTS
from routy_app.providers.meta_ads.endpoints import MetaEndpoints
from routy_app.providers.meta_ads.graph import (
    ACCOUNT_STATUS,
    ReduceData,
    appsecret_proof,
    bearer,
    error_from_response,
    node_of,
)
from routy_app.providers.meta_ads.insights import META_LEVEL
from routy_app.providers.retry import DEFAULT_POLICY, RetryPolicy, with_retries
from routy_app.providers.setup_checks import CheckResult
from routy_app.providers.values import (
    Account,
    ConversionAction,
    Credentials,
    Level,
    MetricRecord,
    OutgoingConversion,
    PushResult,
)
from routy_app.providers.versions import VersionStatus


class MetaAdsProvider:
    """The Meta Ads provider speaking Graph API to `endpoints` (the real hosts or the sandbox)."""

    definition: ClassVar[ProviderDefinition] = DEFINITION
    SCOPES: ClassVar[tuple[str, ...]] = ("ads_read", "ads_management", "business_management")
    ASYNC_AFTER_DAYS: int = 31  # longer ranges use an async report run
    PAGE_LIMIT: int = 500  # insights rows per page (Graph's default is 25)
    ACCOUNTS_PAGE_LIMIT: int = 100
    MAX_POLLS: int = 120  # about 10 minutes at the 5 s poll cap
    POLL_FIRST: float = 1.0
    POLL_CAP: float = 5.0
    MAX_RESUBMITS: int = 1  # a Job Failed/Skipped run is submitted again this many times
    MAX_EVENTS: ClassVar[int] = 1000
    DEFAULT_TEST_EVENT_CODE: str = "TEST_ROUTY"

    def __init__(
        self,
        endpoints: MetaEndpoints,
        http: httpx.AsyncClient,
        retry: RetryPolicy = DEFAULT_POLICY,
        *,
        on_refresh: OnRefresh | None = None,  # Meta tokens are never refreshed: nothing to report
    ) -> None:
        self.endpoints = endpoints
        self.http = http
        self.retry = retry
        self.graph = f"{endpoints.graph_base_url}/{endpoints.api_version}"

    # ------------------------------------------------------------ HTTP

    def _proof(self, token: str) -> dict[str, str]:
        return appsecret_proof(self.endpoints.app_secret, token)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> dict[str, Any]:
        """One Graph call: the parsed JSON body, or the typed error (transport failures are transient)."""
        try:
            response = await self.http.request(
                method, url, params=params, data=data, json=json_body, headers=bearer(token)
            )
        except httpx.TransportError as exc:  # the message never carries the URL (it may hold secrets)
            raise TransientError(f"Could not reach Meta ({type(exc).__name__})", code="transport") from None
        if response.status_code >= 400:
            raise error_from_response(response)
        try:
            body = response.json()
        except ValueError:
            raise error_from_response(response) from None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            raise error_from_response(response)
        if not isinstance(body, dict):
            raise TransientError(
                "Meta returned an unexpected response", status_code=response.status_code, code="malformed"
            )
        return body

    async def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        return await with_retries(lambda: self._send(method, url, **kwargs), self.retry)

    # ------------------------------------------------------------ OAuth

    def authorization_url(self, state: str, code_verifier: str, redirect_uri: str) -> str:
        """The Facebook Login dialog; Meta's web flow has no PKCE, so `code_verifier` is unused."""
        del code_verifier
        query = urlencode(
            {
                "client_id": self.endpoints.app_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "response_type": "code",
                "scope": ",".join(self.SCOPES),
            }
        )
        return f"{self.endpoints.dialog_base_url}/{self.endpoints.api_version}/dialog/oauth?{query}"

    async def _token_call(self, params: dict[str, str]) -> dict[str, Any]:
        """oauth/access_token. A 4xx code 1 here is "Error validating client secret.": permanent."""

        async def call() -> dict[str, Any]:
            try:
                return await self._send("GET", f"{self.graph}/oauth/access_token", params=params)
            except TransientError as exc:
                if exc.status_code is not None and exc.status_code < 500 and exc.code == "1":
                    raise PermanentError(
                        exc.message, status_code=exc.status_code, code=exc.code, request_id=exc.request_id
                    ) from None
                raise

        return await with_retries(call, self.retry)

    async def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> Credentials:
        """code -> short-lived token -> long-lived token (about 60 days; Meta issues no refresh token)."""
        del code_verifier
        app = {"client_id": self.endpoints.app_id, "client_secret": self.endpoints.app_secret}
        short = await self._token_call({**app, "redirect_uri": redirect_uri, "code": code})
        long = await self._token_call(
            {**app, "grant_type": "fb_exchange_token", "fb_exchange_token": short["access_token"]}
        )
        expires_in = long.get("expires_in")
        expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(expires_in)) if expires_in else None
        return Credentials(
            access_token=long["access_token"],
            refresh_token=None,
            expires_at=expires_at,
            scope=",".join(self.SCOPES),
            granted_at=dt.datetime.now(dt.UTC),
        )

    async def _debug(self, token: str) -> dict[str, Any]:
        app_token = f"{self.endpoints.app_id}|{self.endpoints.app_secret}"
        body = await self._call("GET", f"{self.graph}/debug_token", token=app_token, params={"input_token": token})
        return body.get("data") or {}

    async def token_info(self, creds: Credentials) -> dict[str, Any]:
        """debug_token's `data` for the user token: is_valid, expires_at, scopes, granular_scopes."""
        return await self._debug(creds.access_token)

    async def refresh(self, creds: Credentials) -> Credentials:
        """No refresh exists: keep creds that debug_token still calls valid, else ask to reconnect."""
        info = await self._debug(creds.access_token)
        expires_at = int(info.get("expires_at") or 0)
        alive = expires_at == 0 or expires_at > dt.datetime.now(dt.UTC).timestamp()
        if info.get("is_valid") and alive:
            return creds
        error = info.get("error") or {}
        code = f"190/{error['subcode']}" if error.get("subcode") else "190"
        raise AuthExpired("Meta tokens cannot be refreshed; reconnect", code=code)

    async def revoke(self, creds: Credentials) -> None:
        """DELETE /me/permissions de-authorises the app; an already-dead token counts as revoked."""
        try:
            await self._call(
                "DELETE",
                f"{self.graph}/me/permissions",
                token=creds.access_token,
                params=self._proof(creds.access_token),
            )
        except AuthExpired:
            return

    # ------------------------------------------------------------ accounts

    async def _pages(self, url: str, token: str, params: dict[str, Any] | None) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a Graph edge, following the absolute `paging.next` until it is missing."""
        next_url: str | None = url
        while next_url:
            body = await self._call("GET", next_url, token=token, params=params)
            params = None  # `next` already carries every parameter
            yield list(body.get("data") or [])
            next_url = (body.get("paging") or {}).get("next")

    async def list_accounts(self, creds: Credentials) -> list[Account]:
        fields = "id,account_id,name,currency,timezone_name,account_status"
        params = {"fields": fields, "limit": self.ACCOUNTS_PAGE_LIMIT, **self._proof(creds.access_token)}
        accounts: list[Account] = []
        async for rows in self._pages(f"{self.graph}/me/adaccounts", creds.access_token, params):
            for row in rows:
                status = row.get("account_status")
                accounts.append(
                    Account(
                        id=row.get("id") or f"act_{row.get('account_id')}",
                        name=row.get("name") or "",
                        currency=row.get("currency") or "",
                        timezone=row.get("timezone_name") or "UTC",
                        status=ACCOUNT_STATUS.get(int(status), str(status)) if status is not None else "ENABLED",
                    )
                )
        return accounts

    async def test_connection(self, creds: Credentials, account: Account) -> None:
        """A cheap read of the ad account proves the token reaches it."""
        await self._call(
            "GET",
            f"{self.graph}/{node_of(account)}",
            token=creds.access_token,
            params={"fields": "id,name,account_status", **self._proof(creds.access_token)},
        )

    # ------------------------------------------------------------ metrics

    async def _insights_page(self, url: str, token: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """One insights page; "reduce data" becomes ReduceData so the retry policy does not repeat it."""
        try:
            return await self._send("GET", url, token=token, params=params)
        except TransientError as exc:
            if exc.code == "reduce_data":
                raise ReduceData(exc) from None
            raise

    async def _rows(
        self,
        url: str,
        token: str,
        params: dict[str, Any] | None,
        level: Level,
        account: Account,
        *,
        first_may_reduce: bool,
    ) -> AsyncIterator[list[MetricRecord]]:
        """Insights pages as records. A "reduce data" answer on the first page raises ReduceData."""
        next_url: str | None = url
        first = True
        while next_url:
            try:
                body = await with_retries(functools.partial(self._insights_page, next_url, token, params), self.retry)
            except ReduceData as exc:
                if first and first_may_reduce:
                    raise
                raise exc.error from None
            first, params = False, None
            rows = [insights.record(row, level, account) for row in body.get("data") or []]
            if rows:
                yield rows
            next_url = (body.get("paging") or {}).get("next")

    async def fetch_metrics(
        self, creds: Credentials, account: Account, level: Level, start: dt.date, end: dt.date
    ) -> AsyncIterator[list[MetricRecord]]:
        """Daily rows, one list per Graph page; long ranges (or "reduce data") go through an async run."""
        if level not in META_LEVEL:
            raise PermanentError(f"Meta Ads has no {level} level")
        params = insights.insights_params(level, start, end)
        if (end - start).days + 1 > self.ASYNC_AFTER_DAYS:
            async for rows in self._fetch_async(creds, account, level, params):
                yield rows
            return
        sync = {**params, "limit": self.PAGE_LIMIT, **self._proof(creds.access_token)}
        url = f"{self.graph}/{node_of(account)}/insights"
        try:
            async for rows in self._rows(url, creds.access_token, sync, level, account, first_may_reduce=True):
                yield rows
        except ReduceData:
            async for rows in self._fetch_async(creds, account, level, params):
                yield rows

    async def _fetch_async(
        self, creds: Credentials, account: Account, level: Level, params: dict[str, Any]
    ) -> AsyncIterator[list[MetricRecord]]:
        """POST an AdReportRun, poll it with backoff until complete, then page its insights."""
        token, proof = creds.access_token, self._proof(creds.access_token)
        for attempt in range(self.MAX_RESUBMITS + 1):
            run = await self._call(
                "POST", f"{self.graph}/{node_of(account)}/insights", token=token, data={**params, **proof}
            )
            run_id = str(run["report_run_id"])
            status = await self._wait_for(run_id, token, proof)
            if status == "Job Completed":
                url = f"{self.graph}/{run_id}/insights"
                async for rows in self._rows(
                    url, token, {"limit": self.PAGE_LIMIT, **proof}, level, account, first_may_reduce=False
                ):
                    yield rows
                return
            if attempt == self.MAX_RESUBMITS:
                raise TransientError(f"Meta report run ended with status {status!r}", code="job_failed")

    async def _wait_for(self, run_id: str, token: str, proof: dict[str, str]) -> str:
        """Poll GET /{run_id} (1 s doubling to 5 s) until done; a run that never finishes is transient."""
        delay = self.POLL_FIRST
        for _ in range(self.MAX_POLLS):
            run = await self._call("GET", f"{self.graph}/{run_id}", token=token, params=proof or None)
            status = str(run.get("async_status") or "")
            if status == "Job Completed" and int(run.get("async_percent_completion") or 0) >= 100:
                return status
            if status in ("Job Failed", "Job Skipped"):
                return status
            await self.retry.sleep(delay)
            delay = min(delay * 2, self.POLL_CAP)
        raise TransientError(f"Meta report run did not finish after {self.MAX_POLLS} polls", code="report_timeout")

    # ------------------------------------------------------------ conversions

    async def list_conversion_actions(self, creds: Credentials, account: Account) -> list[ConversionAction]:
        """The account's pixels (datasets); the mapping stores the pixel id and picks the event name."""
        params = {"fields": "id,name", "limit": 100, **self._proof(creds.access_token)}
        actions: list[ConversionAction] = []
        async for rows in self._pages(f"{self.graph}/{node_of(account)}/adspixels", creds.access_token, params):
            actions += [
                ConversionAction(
                    id=str(row["id"]),
                    name=row.get("name") or str(row["id"]),
                    kind="pixel",
                    extra={"standard_events": list(STANDARD_EVENTS)},
                )
                for row in rows
            ]
        return actions

    async def push_conversions(
        self, creds: Credentials, account: Account, batch: list[OutgoingConversion], *, validate_only: bool = False
    ) -> list[PushResult]:
        """Send one pixel's batch to CAPI. Meta rejects a whole batch for one bad event (code 100):
        the event it names gets Meta's message and the others "batch rejected because of event N",
        so the caller can resend them without it. Auth, throttling and transient errors propagate."""
        if not batch:
            return []
        if len(batch) > self.MAX_EVENTS:
            raise ValueError(f"Meta accepts at most {self.MAX_EVENTS} events per request, got {len(batch)}")
        pixels = {conv.action.id for conv in batch}
        if len(pixels) != 1:
            raise ValueError("push_conversions sends one pixel per call; group the batch by action.id")
        pixel_id = pixels.pop()
        body: dict[str, Any] = {"data": [capi.event(conv, account) for conv in batch]}
        if validate_only:
            body["test_event_code"] = batch[0].action.extra.get("test_event_code") or self.DEFAULT_TEST_EVENT_CODE
        try:
            answer = await self._call(
                "POST",
                f"{self.graph}/{pixel_id}/events",
                token=creds.access_token,
                params=self._proof(creds.access_token) or None,
                json_body=body,
            )
        except PermanentError as exc:
            return capi.rejected(batch, exc)
        text = json.dumps(
            {
                "events_received": answer.get("events_received"),
                "messages": answer.get("messages") or [],
                "fbtrace_id": answer.get("fbtrace_id"),
            }
        )
        return [PushResult("sent", response=text)] * len(batch)

    # ------------------------------------------------------------ set-up checks

    def missing_scopes(self, creds: Credentials) -> list[str]:
        """Meta grants what the dialog asked for unless the person unticks it; debug_token tells (doctor)."""
        granted = {s for s in creds.scope.replace(",", " ").split() if s}
        return [s for s in self.SCOPES if granted and s not in granted]

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
