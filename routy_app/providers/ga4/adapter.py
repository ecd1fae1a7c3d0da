"""The GA4 adapter: Measurement Protocol for pushing conversions, Data API runReport for pulling metrics.

A class over the package's modules (setup.py, measurement_protocol.py, data_api.py, sdk_bridge.py);
see the package's docstring and docs/providers/ga4.md for why GA4 works the way it does here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import httpx
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import RunReportRequest, RunReportResponse

from routy_app.providers.context import OnRefresh
from routy_app.providers.definition import ProviderDefinition
from routy_app.providers.errors import PermanentError, RateLimited, SetupFieldError, TransientError
from routy_app.providers.ga4 import DEFINITION, setup_checks
from routy_app.providers.ga4.data_api import PAGE_SIZE, data_client, records, report_request
from routy_app.providers.ga4.endpoints import GA4Endpoints
from routy_app.providers.ga4.events import RECOMMENDED_EVENTS
from routy_app.providers.ga4.measurement_protocol import (
    CHECK_CLIENT_ID,
    MAX_EVENTS_PER_REQUEST,
    NO_CLIENT_ID,
    describe_messages,
    mp_payload,
    mp_post,
    mp_status_error,
)
from routy_app.providers.ga4.sdk_bridge import in_thread
from routy_app.providers.ga4.setup import (
    GOOGLE_TOKEN_URIS,
    Setup,
    credentials_for,
    parse_fields,
    setup_from,
    token_uri_problem,
)
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


class GA4Provider:
    """Google Analytics 4 (manual setup)."""

    definition: ClassVar[ProviderDefinition] = DEFINITION

    def __init__(
        self,
        endpoints: GA4Endpoints,
        http: httpx.AsyncClient,
        retry: RetryPolicy = DEFAULT_POLICY,
        *,
        on_refresh: OnRefresh | None = None,  # nothing is refreshed: the secret and the key do not expire
    ) -> None:
        self.endpoints = endpoints
        self.http = http
        self.retry = retry

    async def refresh(self, creds: Credentials) -> Credentials:
        return creds  # nothing expires: the secret and the key are long-lived

    async def revoke(self, creds: Credentials) -> None:
        """Nothing to revoke remotely; the user deletes the API secret / key in Google's UI."""

    # ---- setup and accounts

    async def validate_setup(self, fields: Mapping[str, str]) -> tuple[Account, Credentials]:
        """Check the form fields, then the stream (debug collect) and, when given, the property (runReport).

        A wrong api secret cannot be detected: Google's validation server does not check it.
        """
        setup = self.checked_setup(fields)
        await self._check_stream(setup)
        return await self._describe(setup), credentials_for(setup)

    def _token_uris(self) -> frozenset[str]:
        """Google's token endpoints, plus the configured one (the sandbox's in sandbox mode)."""
        return GOOGLE_TOKEN_URIS | {self.endpoints.token_url}

    def checked_setup(self, fields: Mapping[str, str]) -> Setup:
        """The form's fields checked for format, a service-account key's token_uri included (no request)."""
        setup = parse_fields(fields)
        if problem := token_uri_problem(setup.service_account, self._token_uris()):
            raise SetupFieldError("service_account_json", problem)
        return setup

    async def list_accounts(self, creds: Credentials) -> list[Account]:
        return [await self._describe(setup_from(creds))]

    async def test_connection(self, creds: Credentials, account: Account) -> None:
        setup = setup_from(creds)
        await self._check_stream(setup)
        if setup.can_pull:
            await self._report_page(
                setup,
                report_request(
                    setup, "7daysAgo", "yesterday", limit=1, offset=0, dims=("date",), metrics=("sessions",)
                ),
            )

    async def _check_stream(self, setup: Setup) -> None:
        payload = {
            "client_id": CHECK_CLIENT_ID,
            "events": [{"name": "routy_connection_check", "params": {"engagement_time_msec": 1}}],
        }
        messages = await self._debug(setup, payload)
        if messages:
            raise PermanentError(describe_messages(messages), code=messages[0].get("validationCode"))

    async def _describe(self, setup: Setup) -> Account:
        currency, timezone = "USD", "UTC"
        if setup.can_pull:
            response = await self._report_page(
                setup,
                report_request(
                    setup, "7daysAgo", "yesterday", limit=1, offset=0, dims=("date",), metrics=("sessions",)
                ),
            )
            currency = response.metadata.currency_code or currency
            timezone = response.metadata.time_zone or timezone
            name = f"GA4 property {setup.property_id} ({setup.measurement_id})"
        else:
            name = f"GA4 stream {setup.measurement_id}"
        return Account(id=setup.measurement_id, name=name, currency=currency, timezone=timezone)

    # ---- pull

    async def fetch_metrics(
        self, creds: Credentials, account: Account, level: Level, start: dt.date, end: dt.date
    ) -> AsyncIterator[list[MetricRecord]]:
        """Campaign x source/medium x day rows, one list per Data API page (offset paging)."""
        if level != "campaign":
            raise PermanentError(f"GA4 reports only the campaign level, not {level}.", code="LEVEL_UNSUPPORTED")
        setup = setup_from(creds)
        if not setup.can_pull:
            raise PermanentError(
                "Pulling from GA4 needs a property ID and a service-account key.", code="PULL_NOT_CONFIGURED"
            )
        client = self._data_client(setup)
        offset = 0
        while True:
            request = report_request(
                setup,
                start.isoformat(),
                end.isoformat(),
                limit=PAGE_SIZE,
                offset=offset,
                dims=("date", "sessionCampaignName", "sessionSourceMedium"),
                metrics=("sessions", "keyEvents", "totalRevenue"),
            )
            response = await self._report_page(setup, request, client)
            page = records(response)
            if page:
                yield page
            offset += len(page)
            if not page or offset >= response.row_count:
                return

    async def _report_page(
        self, setup: Setup, request: RunReportRequest, client: BetaAnalyticsDataClient | None = None
    ) -> RunReportResponse:
        """One runReport call through the official client, retried per the shared policy."""
        client = client or self._data_client(setup)

        async def attempt() -> RunReportResponse:
            return await in_thread(lambda: client.run_report(request=request))

        return await with_retries(attempt, self.retry)

    def _data_client(self, setup: Setup) -> BetaAnalyticsDataClient:
        """The official client on the configured endpoint, its HTTP bridged to `self.http`."""
        return data_client(self.http, self.endpoints.data_api_base_url, setup, self._token_uris())

    # ---- push

    async def list_conversion_actions(self, creds: Credentials, account: Account) -> list[ConversionAction]:
        """GA4 has no conversion-action objects: the target is an event name (recommended ones listed)."""
        return [
            ConversionAction(id=name, name=name, kind="event", extra={"recommended": True})
            for name in RECOMMENDED_EVENTS
        ]

    async def push_conversions(
        self, creds: Credentials, account: Account, batch: list[OutgoingConversion], *, validate_only: bool = False
    ) -> list[PushResult]:
        """Validate each request on /debug/mp/collect, then send it to /mp/collect.

        Client id, consent and user data are request-level in the Measurement Protocol, so events are
        grouped into one request per (client id, consent, user data). If a later request fails
        transiently after earlier ones were sent, the rest come back failed rather than raising, so
        the already-sent events are not sent again.
        """
        if len(batch) > MAX_EVENTS_PER_REQUEST:
            raise ValueError(f"GA4 accepts at most {MAX_EVENTS_PER_REQUEST} events per push, got {len(batch)}.")
        setup = setup_from(creds)
        results: list[PushResult] = [NO_CLIENT_ID] * len(batch)
        groups: dict[tuple[Any, ...], list[int]] = {}  # request-level fields -> positions in batch
        for i, conv in enumerate(batch):
            if conv.ga_client_id:
                group = (
                    conv.ga_client_id,
                    conv.consent_ad_user_data,
                    conv.consent_ad_personalization,
                    conv.email_sha256,
                    conv.phone_sha256,
                )
                groups.setdefault(group, []).append(i)
        sent_any = False
        for positions in groups.values():
            payload = mp_payload([batch[i] for i in positions])
            try:
                messages = await self._debug(setup, payload)
                if messages:
                    outcome = PushResult("failed", error=describe_messages(messages))
                elif validate_only:
                    outcome = PushResult("sent", response=json.dumps({"validationMessages": messages}))
                else:
                    await self._collect(setup, payload)
                    sent_any = True
                    outcome = PushResult("sent", response="204")
            except (TransientError, RateLimited) as exc:
                if not sent_any:
                    raise
                outcome = PushResult("failed", error=exc.message, retryable=True)
            for i in positions:
                results[i] = outcome
        return results

    def _mp_url(self, path: str, setup: Setup) -> tuple[str, dict[str, str]]:
        return (
            f"{self.endpoints.mp_base_url}{path}",
            {"measurement_id": setup.measurement_id, "api_secret": setup.api_secret},
        )

    async def _debug(self, setup: Setup, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """The validation server's messages for `payload` (empty = valid)."""
        url, params = self._mp_url("/debug/mp/collect", setup)

        async def call() -> list[dict[str, Any]]:
            response = await mp_post(self.http, url, params, payload, "validation server")
            if response.status_code != 200:
                raise mp_status_error(response.status_code, "validation server")
            try:
                messages = response.json()["validationMessages"]
                if not isinstance(messages, list):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                raise TransientError(
                    "The Measurement Protocol validation server answered with an unreadable response.",
                    status_code=response.status_code,
                ) from None
            return messages

        return await with_retries(call, self.retry)

    async def _collect(self, setup: Setup, payload: dict[str, Any]) -> None:
        url, params = self._mp_url("/mp/collect", setup)

        async def call() -> None:
            response = await mp_post(self.http, url, params, payload, "collection endpoint")
            if not 200 <= response.status_code < 300:
                raise mp_status_error(response.status_code, "collection endpoint")

        await with_retries(call, self.retry)

    # ---- set-up checks

    async def check_setup(
        self,
        creds: Credentials,
        account: Account,
        version: VersionStatus | None,
        mapped: dict[str, str],
        *,
        sandbox: bool,
    ) -> list[CheckResult]:
        return await setup_checks.check(self, creds, account, sandbox=sandbox)
