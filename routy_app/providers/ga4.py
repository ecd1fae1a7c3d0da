"""GA4 adapter: Measurement Protocol for pushing conversions, Data API runReport for pulling metrics.

Why it looks like this:
- GA4 is set up by hand (no OAuth): `Credentials.extra` holds `measurement_id`, `api_secret` and,
  for pulling, `property_id` + `service_account_json`.
- `/mp/collect` answers 204 whatever it receives, so every push is first checked against
  `/debug/mp/collect`. That validation server does not check the api secret either, so neither
  `validate_manual_setup` nor `test_connection` can detect a wrong secret; the UI must say so.
- Pulling goes through the official `google-analytics-data` client (REST transport, self-signed
  service-account JWT). Its HTTP is routed through our shared `httpx.AsyncClient` by a small
  `requests` transport adapter, so the SDK builds/parses the wire format while timeouts, the
  sandbox and tests use the same client as every other adapter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn, TypeVar

import httpx
import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import DateRange, Dimension, Metric, RunReportRequest, RunReportResponse
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc
from google.oauth2 import service_account
from google.protobuf import json_format
from requests.adapters import BaseAdapter

from routy_app.providers.base import (
    Account,
    AuthExpired,
    ConversionAction,
    Credentials,
    Level,
    MetricRecord,
    OutgoingConversion,
    PermanentError,
    PushResult,
    RateLimited,
    TransientError,
)
from routy_app.providers.endpoints import Endpoints
from routy_app.providers.registry import GA4
from routy_app.providers.retry import DEFAULT_POLICY, RetryPolicy, parse_duration, with_retries

T = TypeVar("T")

MEASUREMENT_ID_RE = re.compile(r"^G-[A-Z0-9]+$")
EVENT_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAX_EVENTS_PER_REQUEST = 25
MAX_NAME_LENGTH = 40
PAGE_SIZE = 10_000
READONLY_SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
CHECK_CLIENT_ID = "1000000000.1000000000"  # a syntactically normal GA client id for setup checks
NO_CLIENT_ID = PushResult("skipped", error="no GA client id")

RESERVED_EVENT_NAMES = frozenset(
    {
        "ad_activeview",
        "ad_click",
        "ad_exposure",
        "ad_impression",
        "ad_query",
        "ad_reward",
        "adunit_exposure",
        "app_background",
        "app_clear_data",
        "app_exception",
        "app_remove",
        "app_store_refund",
        "app_store_subscription_cancel",
        "app_store_subscription_convert",
        "app_store_subscription_renew",
        "app_update",
        "app_upgrade",
        "dynamic_link_app_open",
        "dynamic_link_app_update",
        "dynamic_link_first_open",
        "error",
        "firebase_campaign",
        "firebase_in_app_message_action",
        "firebase_in_app_message_dismiss",
        "firebase_in_app_message_impression",
        "first_open",
        "first_visit",
        "in_app_purchase",
        "notification_dismiss",
        "notification_foreground",
        "notification_open",
        "notification_receive",
        "notification_send",
        "os_update",
        "screen_view",
        "session_start",
        "user_engagement",
    }
)
RESERVED_PREFIXES = ("_", "ga_", "google_", "firebase_", "gtag.")

# GA4 recommended events a CRM conversion usually maps to (lead-gen and online-sales sets).
RECOMMENDED_EVENTS = (
    "purchase",
    "refund",
    "generate_lead",
    "qualify_lead",
    "working_lead",
    "close_convert_lead",
    "close_unconvert_lead",
    "disqualify_lead",
    "sign_up",
    "login",
    "begin_checkout",
    "add_to_cart",
    "add_payment_info",
    "add_shipping_info",
)


class FieldError(ValueError):
    """A manual-setup field is unusable; `field` names the form field the message belongs under."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def validate_measurement_id(value: str) -> str | None:
    """Why `value` is not a GA4 web-stream Measurement ID, or None when it is one."""
    if not MEASUREMENT_ID_RE.match(value or ""):
        return (
            'Enter the Measurement ID of a web data stream: "G-" followed by uppercase letters and digits, '
            "e.g. G-AB12CD34EF (Admin > Data streams; it is not the numeric stream ID)."
        )
    return None


def validate_event_name(name: str) -> str | None:
    """Why `name` cannot be a Measurement Protocol event name, or None when it can."""
    if not name:
        return "Enter an event name."
    if len(name) > MAX_NAME_LENGTH:
        return f"Event names are at most {MAX_NAME_LENGTH} characters."
    if not EVENT_NAME_RE.match(name):
        return "Event names start with a letter and use only letters, digits and underscores."
    if name in RESERVED_EVENT_NAMES or name.startswith(RESERVED_PREFIXES):
        return f'"{name}" is reserved by Google Analytics; choose another name.'
    return None


# ---------------------------------------------------------------- manual setup values


@dataclass(frozen=True)
class _Setup:
    """The checked contents of `Credentials.extra`."""

    measurement_id: str
    api_secret: str
    property_id: str | None
    service_account: dict[str, Any] | None

    @property
    def can_pull(self) -> bool:
        return bool(self.property_id and self.service_account)


def _parse_setup(
    measurement_id: str, api_secret: str, property_id: str | None, service_account_json: str | dict[str, Any] | None
) -> _Setup:
    """Check every field's format; raises FieldError naming the first bad field."""
    measurement_id = (measurement_id or "").strip()
    problem = validate_measurement_id(measurement_id)
    if problem:
        raise FieldError("measurement_id", problem)
    api_secret = (api_secret or "").strip()
    if not api_secret:
        raise FieldError(
            "api_secret",
            "Enter the Measurement Protocol API secret (Admin > Data streams > your "
            "stream > Measurement Protocol API secrets).",
        )
    prop = (property_id or "").strip().removeprefix("properties/") or None
    if prop is not None and not prop.isdigit():
        raise FieldError(
            "property_id",
            "The property ID is a number such as 123456789 (Admin > Property details), not the Measurement ID.",
        )
    info = _parse_service_account(service_account_json)
    if info is not None and prop is None:
        raise FieldError("property_id", "Enter the property ID to pull reports with this service account.")
    if prop is not None and info is None:
        raise FieldError(
            "service_account_json", "Paste the service-account key (JSON) to pull reports from this property."
        )
    return _Setup(measurement_id, api_secret, prop, info)


def _parse_service_account(raw: str | dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        info = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except ValueError:
        raise FieldError(
            "service_account_json", "The service-account key is not valid JSON; paste the whole downloaded key file."
        ) from None
    if not isinstance(info, dict):
        raise FieldError("service_account_json", "The service-account key must be a JSON object.")
    missing = [k for k in ("client_email", "private_key") if not info.get(k)]
    if missing:
        raise FieldError(
            "service_account_json",
            f"The service-account key lacks {' and '.join(missing)}; download a JSON key for the service account.",
        )
    try:
        service_account.Credentials.from_service_account_info(
            {"token_uri": "https://oauth2.googleapis.com/token", **info}
        )
    except (ValueError, TypeError):
        raise FieldError(
            "service_account_json", "The private key in the service-account JSON could not be read."
        ) from None
    return info


# Where a service-account key may send its JWT grant. google-auth follows a key's `token_uri` as
# given, so a pasted key could otherwise point the server at any URL (an admin-driven SSRF).
# google-auth's own endpoint (google/oauth2/service_account.py) and Google's older ones.
GOOGLE_TOKEN_URIS = frozenset(
    {
        "https://oauth2.googleapis.com/token",
        "https://accounts.google.com/o/oauth2/token",
        "https://www.googleapis.com/oauth2/v4/token",
    }
)
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"


def _token_uri_problem(info: dict[str, Any] | None, allowed: frozenset[str]) -> str | None:
    uri = (info or {}).get("token_uri", DEFAULT_TOKEN_URI)
    if isinstance(uri, str) and uri.strip() in allowed:
        return None
    return (
        "The service-account key's token_uri is not Google's token endpoint "
        f"({DEFAULT_TOKEN_URI}); paste the key file exactly as Google Cloud downloaded it."
    )


def _setup_from(creds: Credentials) -> _Setup:
    extra = creds.extra
    try:
        return _parse_setup(
            extra.get("measurement_id", ""),
            extra.get("api_secret", ""),
            extra.get("property_id"),
            extra.get("service_account_json"),
        )
    except FieldError as exc:
        raise PermanentError(f"GA4 setup is incomplete: {exc.message}", code="SETUP_INVALID") from None


# ---------------------------------------------------------------- requests -> httpx bridge


class _HttpxBridge(BaseAdapter):
    """A `requests` transport adapter that sends through our async httpx client.

    The SDK runs in a worker thread (it is synchronous); each request is handed back to the event
    loop that owns `http` and the thread waits for the answer.
    """

    _DROP = frozenset({"content-length", "connection", "host", "transfer-encoding"})

    def __init__(self, http: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._http = http
        self._loop = loop

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in self._DROP}
        body = request.body.encode() if isinstance(request.body, str) else request.body
        call = self._http.request(request.method or "GET", request.url or "", headers=headers, content=body)
        try:
            answer = asyncio.run_coroutine_threadsafe(call, self._loop).result()
        except httpx.TimeoutException as exc:
            raise requests.Timeout("GA4 Data API timed out", request=request) from exc
        except httpx.TransportError as exc:
            raise requests.ConnectionError(f"GA4 Data API unreachable ({type(exc).__name__})", request=request) from exc
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers.update({k: v for k, v in answer.headers.items() if k.lower() != "content-encoding"})
        response._content = answer.content  # noqa: SLF001 - requests has no public setter for a built body
        response.url = request.url or ""
        response.request = request
        response.encoding = answer.encoding or "utf-8"
        response.reason = answer.reason_phrase
        return response

    def close(self) -> None:
        """Nothing to close: the httpx client belongs to the caller."""


# ---------------------------------------------------------------- error mapping


def _google_message(exc: gexc.GoogleAPICallError) -> str:
    """Google's own error text (the SDK prefixes it with method and URL, which we do not show)."""
    response = getattr(exc, "response", None)
    try:
        return str(response.json()["error"]["message"])  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - any unreadable body falls back to the SDK's text
        return str(exc.message)


def _raise_mapped(exc: BaseException) -> NoReturn:
    """Data API / SDK exception -> our typed error."""
    if isinstance(exc, auth_exc.RefreshError):
        raise AuthExpired(
            f"Google refused the service-account credentials: {exc.args[0] if exc.args else exc}", code="REFRESH_FAILED"
        ) from None
    if isinstance(exc, gexc.GoogleAPICallError):
        message, status = _google_message(exc), exc.code
        if isinstance(exc, gexc.Unauthorized):
            raise AuthExpired(message, status_code=status, code="UNAUTHENTICATED") from None
        if isinstance(exc, gexc.TooManyRequests):
            response = getattr(exc, "response", None)
            retry_after = parse_duration(response.headers.get("Retry-After")) if response is not None else None
            raise RateLimited(message, retry_after=retry_after, status_code=status, code="RESOURCE_EXHAUSTED") from None
        if isinstance(exc, gexc.ServerError):
            raise TransientError(message, status_code=status, code=type(exc).__name__) from None
        raise PermanentError(message, status_code=status, code=type(exc).__name__) from None
    if isinstance(exc, (requests.RequestException, auth_exc.TransportError)):
        raise TransientError(f"Could not reach the GA4 Data API: {exc}") from None
    if isinstance(exc, (ValueError, json_format.Error)):  # an unparseable body (proxy page, truncated JSON)
        raise TransientError("The GA4 Data API answered with an unreadable response.") from None
    raise exc


def _mp_status_error(status: int, what: str) -> TransientError | PermanentError:
    text = f"The Measurement Protocol {what} answered HTTP {status}."
    if status >= 500 or status == 429:
        return TransientError(text, status_code=status)
    return PermanentError(text, status_code=status)


# ---------------------------------------------------------------- the adapter


class GA4Provider:
    """Google Analytics 4 (manual setup)."""

    info = GA4

    def __init__(self, endpoints: Endpoints, http: httpx.AsyncClient, retry: RetryPolicy = DEFAULT_POLICY) -> None:
        self.endpoints = endpoints
        self.http = http
        self.retry = retry

    validate_event_name = staticmethod(validate_event_name)

    # ---- OAuth does not exist for GA4 here

    def authorization_url(self, state: str, code_verifier: str, redirect_uri: str) -> str:
        raise NotImplementedError("GA4 is set up manually (Measurement ID and API secret)")

    async def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> Credentials:
        raise NotImplementedError("GA4 is set up manually (Measurement ID and API secret)")

    async def refresh(self, creds: Credentials) -> Credentials:
        return creds  # nothing expires: the secret and the key are long-lived

    async def revoke(self, creds: Credentials) -> None:
        """Nothing to revoke remotely; the user deletes the API secret / key in Google's UI."""

    # ---- setup and accounts

    async def validate_manual_setup(
        self,
        measurement_id: str,
        api_secret: str,
        property_id: str | None = None,
        service_account_json: str | dict[str, Any] | None = None,
    ) -> Account:
        """Check the form fields, then the stream (debug collect) and, when given, the property (runReport).

        A wrong api secret cannot be detected: Google's validation server does not check it.
        """
        setup = self._checked(_parse_setup(measurement_id, api_secret, property_id, service_account_json))
        await self._check_stream(setup)
        return await self._describe(setup)

    def credentials_for(
        self,
        measurement_id: str,
        api_secret: str,
        property_id: str | None = None,
        service_account_json: str | dict[str, Any] | None = None,
    ) -> Credentials:
        """The Credentials to store after `validate_manual_setup` succeeded."""
        setup = self._checked(_parse_setup(measurement_id, api_secret, property_id, service_account_json))
        extra: dict[str, Any] = {"measurement_id": setup.measurement_id, "api_secret": setup.api_secret}
        if setup.can_pull:
            extra["property_id"] = setup.property_id
            extra["service_account_json"] = json.dumps(setup.service_account)
        return Credentials(access_token="", extra=extra)

    def _token_uris(self) -> frozenset[str]:
        """Google's token endpoints, plus the configured one (the sandbox's in sandbox mode)."""
        return GOOGLE_TOKEN_URIS | {self.endpoints.google_token_url}

    def _checked(self, setup: _Setup) -> _Setup:
        if problem := _token_uri_problem(setup.service_account, self._token_uris()):
            raise FieldError("service_account_json", problem)
        return setup

    async def list_accounts(self, creds: Credentials) -> list[Account]:
        return [await self._describe(_setup_from(creds))]

    async def test_connection(self, creds: Credentials, account: Account) -> None:
        setup = _setup_from(creds)
        await self._check_stream(setup)
        if setup.can_pull:
            await self._report_page(
                setup,
                _report_request(
                    setup, "7daysAgo", "yesterday", limit=1, offset=0, dims=("date",), metrics=("sessions",)
                ),
            )

    async def _check_stream(self, setup: _Setup) -> None:
        payload = {
            "client_id": CHECK_CLIENT_ID,
            "events": [{"name": "routy_connection_check", "params": {"engagement_time_msec": 1}}],
        }
        messages = await self._debug(setup, payload)
        if messages:
            raise PermanentError(_describe_messages(messages), code=messages[0].get("validationCode"))

    async def _describe(self, setup: _Setup) -> Account:
        currency, timezone = "USD", "UTC"
        if setup.can_pull:
            response = await self._report_page(
                setup,
                _report_request(
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
        setup = _setup_from(creds)
        if not setup.can_pull:
            raise PermanentError(
                "Pulling from GA4 needs a property ID and a service-account key.", code="PULL_NOT_CONFIGURED"
            )
        client = self._data_client(setup)
        offset = 0
        while True:
            request = _report_request(
                setup,
                start.isoformat(),
                end.isoformat(),
                limit=PAGE_SIZE,
                offset=offset,
                dims=("date", "sessionCampaignName", "sessionSourceMedium"),
                metrics=("sessions", "keyEvents", "totalRevenue"),
            )
            response = await self._report_page(setup, request, client)
            records = _records(response)
            if records:
                yield records
            offset += len(records)
            if not records or offset >= response.row_count:
                return

    async def _report_page(
        self, setup: _Setup, request: RunReportRequest, client: BetaAnalyticsDataClient | None = None
    ) -> RunReportResponse:
        """One runReport call through the official client, retried per the shared policy."""
        client = client or self._data_client(setup)

        async def attempt() -> RunReportResponse:
            return await _in_thread(lambda: client.run_report(request=request))

        return await with_retries(attempt, self.retry)

    def _data_client(self, setup: _Setup) -> BetaAnalyticsDataClient:
        """The official client on the configured endpoint, its HTTP bridged to `self.http`."""
        if problem := _token_uri_problem(setup.service_account, self._token_uris()):  # keys saved before the check
            raise PermanentError(f"GA4 setup is incomplete: {problem}", code="SETUP_INVALID")
        creds = service_account.Credentials.from_service_account_info(
            {"token_uri": DEFAULT_TOKEN_URI, **(setup.service_account or {})}, scopes=[READONLY_SCOPE]
        )
        client = BetaAnalyticsDataClient(
            credentials=creds, transport="rest", client_options={"api_endpoint": self.endpoints.ga4_data_api_base_url}
        )
        bridge = _HttpxBridge(self.http, asyncio.get_running_loop())
        session = client.transport._session  # noqa: SLF001 - the REST transport's requests session
        session.mount("http://", bridge)
        session.mount("https://", bridge)
        return client

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
        setup = _setup_from(creds)
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
            payload = _mp_payload([batch[i] for i in positions])
            try:
                messages = await self._debug(setup, payload)
                if messages:
                    outcome = PushResult("failed", error=_describe_messages(messages))
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

    def _mp_url(self, path: str, setup: _Setup) -> tuple[str, dict[str, str]]:
        return (
            f"{self.endpoints.ga4_mp_base_url}{path}",
            {"measurement_id": setup.measurement_id, "api_secret": setup.api_secret},
        )

    async def _debug(self, setup: _Setup, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """The validation server's messages for `payload` (empty = valid)."""
        url, params = self._mp_url("/debug/mp/collect", setup)

        async def call() -> list[dict[str, Any]]:
            response = await _mp_post(self.http, url, params, payload, "validation server")
            if response.status_code != 200:
                raise _mp_status_error(response.status_code, "validation server")
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

    async def _collect(self, setup: _Setup, payload: dict[str, Any]) -> None:
        url, params = self._mp_url("/mp/collect", setup)

        async def call() -> None:
            response = await _mp_post(self.http, url, params, payload, "collection endpoint")
            if not 200 <= response.status_code < 300:
                raise _mp_status_error(response.status_code, "collection endpoint")

        await with_retries(call, self.retry)


# ---------------------------------------------------------------- helpers


async def _in_thread(call: Callable[[], T]) -> T:
    """Run a synchronous SDK call off the event loop, translating its errors."""
    try:
        return await asyncio.to_thread(call)
    except Exception as exc:  # noqa: BLE001 - every SDK failure is mapped to a typed error
        _raise_mapped(exc)


async def _mp_post(
    http: httpx.AsyncClient, url: str, params: dict[str, str], payload: dict[str, Any], what: str
) -> httpx.Response:
    try:
        return await http.post(url, params=params, json=payload)
    except httpx.TimeoutException:
        raise TransientError(f"The Measurement Protocol {what} timed out.") from None
    except httpx.TransportError as exc:  # the message never contains the URL (it holds the api secret)
        raise TransientError(f"Could not reach the Measurement Protocol {what} ({type(exc).__name__}).") from None


def _describe_messages(messages: list[dict[str, Any]]) -> str:
    return "; ".join(str(m.get("description") or m.get("validationCode") or "invalid") for m in messages)


def _report_request(
    setup: _Setup, start: str, end: str, *, limit: int, offset: int, dims: tuple[str, ...], metrics: tuple[str, ...]
) -> RunReportRequest:
    return RunReportRequest(
        property=f"properties/{setup.property_id}",
        date_ranges=[DateRange(start_date=start, end_date=end)],
        dimensions=[Dimension(name=d) for d in dims],
        metrics=[Metric(name=m) for m in metrics],
        limit=limit,
        offset=offset,
    )


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


def _records(response: RunReportResponse) -> list[MetricRecord]:
    """Data API rows -> campaign-level records keyed by campaign and source/medium."""
    raw = RunReportResponse.pb(response)  # the plain protobuf: far faster than proto-plus wrappers
    dims = {h.name: i for i, h in enumerate(raw.dimension_headers)}
    mets = {h.name: i for i, h in enumerate(raw.metric_headers)}
    currency = raw.metadata.currency_code
    d_date, d_campaign, d_source = dims["date"], dims.get("sessionCampaignName"), dims.get("sessionSourceMedium")
    records = []
    for row in raw.rows:
        dvals, mvals = row.dimension_values, row.metric_values

        def metric(name: str, mvals: Any = mvals) -> Decimal:
            index = mets.get(name)
            return _decimal(mvals[index].value) if index is not None else Decimal(0)

        campaign = dvals[d_campaign].value if d_campaign is not None else ""
        source_medium = dvals[d_source].value if d_source is not None else ""
        records.append(
            MetricRecord(
                level="campaign",
                date=dt.date.fromisoformat(dvals[d_date].value),
                campaign_id=f"{campaign}|{source_medium}",
                campaign_name=campaign,
                ad_group_name=source_medium,
                clicks=int(metric("sessions")),
                conversions_micros=int((metric("keyEvents") * 1_000_000).to_integral_value()),
                conversion_value_micros=int((metric("totalRevenue") * 1_000_000).to_integral_value()),
                currency=currency,
            )
        )
    return records


def _consent(value: str | None) -> str | None:
    if value is None:
        return None
    return "GRANTED" if value.lower() == "granted" else "DENIED"


def _timestamp_micros(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def _mp_payload(convs: list[OutgoingConversion]) -> dict[str, Any]:
    """One Measurement Protocol request for conversions sharing client id, consent and user data."""
    first = convs[0]
    events = []
    for conv in convs:
        params: dict[str, Any] = {"transaction_id": conv.key, "engagement_time_msec": 100}
        if conv.value_micros:  # GA4 needs currency whenever value is set
            params["value"] = conv.value_micros / 1_000_000  # the wire wants a JSON number
            params["currency"] = conv.currency or "USD"
        events.append(
            {"name": conv.action.id, "params": params, "timestamp_micros": _timestamp_micros(conv.occurred_at)}
        )
    payload: dict[str, Any] = {"client_id": first.ga_client_id, "events": events}
    consent = {
        k: v
        for k, v in (
            ("ad_user_data", _consent(first.consent_ad_user_data)),
            ("ad_personalization", _consent(first.consent_ad_personalization)),
        )
        if v
    }
    if consent:
        payload["consent"] = consent
    user_data = {}
    if first.email_sha256:
        user_data["sha256_email_address"] = [first.email_sha256]
    if first.phone_sha256:
        user_data["sha256_phone_number"] = [first.phone_sha256]
    if user_data:
        payload["user_data"] = user_data
    return payload
