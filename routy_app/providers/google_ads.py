"""Google Ads adapter: OAuth (PKCE), accounts and GAQL reports on the Google Ads API, conversions on Data Manager.

Stateless about storage. When an API call meets a 401 and the credentials carry a refresh token,
the adapter refreshes once and retries; the newest credentials it obtained (from exchange_code,
refresh, or such an in-call refresh) are kept in `self.last_credentials`, and the caller must
persist them when they differ from what it passed in. `invalid_grant` on refresh is AuthExpired.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zoneinfo
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from routy_app.providers.base import (
    Account,
    AuthExpired,
    ConversionAction,
    Credentials,
    Level,
    MetricRecord,
    OutgoingConversion,
    PermanentError,
    ProviderError,
    ProviderInfo,
    PushResult,
    RateLimited,
    TransientError,
    Verdict,
)
from routy_app.providers.endpoints import Endpoints
from routy_app.providers.google_conversion_rules import event_source
from routy_app.providers.registry import GOOGLE_ADS
from routy_app.providers.retry import DEFAULT_POLICY, RetryPolicy, parse_duration, with_retries

log = logging.getLogger(__name__)
T = TypeVar("T")

ADWORDS_SCOPE = "https://www.googleapis.com/auth/adwords"
DATAMANAGER_SCOPE = "https://www.googleapis.com/auth/datamanager"
SCOPES = (ADWORDS_SCOPE, DATAMANAGER_SCOPE)
MAX_DESTINATIONS = 10
REFRESH_MARGIN = 60.0  # refresh proactively when the access token has less than this many seconds left
# An OAuth app whose consent screen is in "Testing" gets refresh tokens that end 7 days after consent
# (https://developers.google.com/identity/protocols/oauth2#expiration).
TESTING_GRANT_LIFETIME = dt.timedelta(days=7)
NOT_PROCESSED = (
    "Not processed: Google rejected the whole request because of other events in this batch "
    "(see their errors); this event can be retried on its own."
)
NO_IDENTIFIER = PushResult(
    "skipped",
    error="No click ID (gclid/gbraid/wbraid) and no hashed email or phone: Google cannot match this conversion.",
)
NO_EVENT_SOURCE = PushResult(
    "skipped",
    error="No event source: Google requires one for offline conversions. Choose "
    "where this mapping's conversions happen (Conversion Mappings), or send "
    "`origin` with each conversion.",
)

_METRICS = (
    "segments.date, metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, "
    "metrics.conversions_value"
)
LEVEL_QUERIES: dict[str, str] = {
    "campaign": f"SELECT campaign.id, campaign.name, campaign.status, {_METRICS} FROM campaign",
    "ad_group": f"SELECT campaign.id, campaign.name, ad_group.id, ad_group.name, {_METRICS} FROM ad_group",
    "ad": "SELECT campaign.id, campaign.name, ad_group.id, ad_group.name, ad_group_ad.ad.id, ad_group_ad.ad.name, "
    f"ad_group_ad.status, {_METRICS} FROM ad_group_ad",
    "keyword": "SELECT campaign.id, campaign.name, ad_group.id, ad_group.name, ad_group_criterion.criterion_id, "
    f"ad_group_criterion.keyword.text, ad_group_criterion.keyword.match_type, {_METRICS} FROM keyword_view",
}
CUSTOMER_QUERY = (
    "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone, "
    "customer.manager, customer.test_account, customer.status FROM customer"
)
CHILDREN_QUERY = (
    "SELECT customer_client.client_customer, customer_client.id, customer_client.level, "
    "customer_client.manager, customer_client.descriptive_name, customer_client.currency_code, "
    "customer_client.time_zone, customer_client.status FROM customer_client "
    "WHERE customer_client.level <= 1"
)
CONVERSION_ACTION_QUERY = (
    "SELECT conversion_action.id, conversion_action.name, conversion_action.type, "
    "conversion_action.status, conversion_action.category, conversion_action.owner_customer, "
    "conversion_action.resource_name FROM conversion_action"
)
CONVERSION_ACTIONS_QUERY = (
    f"{CONVERSION_ACTION_QUERY} WHERE conversion_action.type = 'UPLOAD_CLICKS' AND conversion_action.status = 'ENABLED'"
)
CONSENT = {"granted": "CONSENT_GRANTED", "denied": "CONSENT_DENIED"}
TRANSIENT_CODES = {"INTERNAL_ERROR", "TRANSIENT_ERROR", "DEADLINE_EXCEEDED", "CONCURRENT_MODIFICATION", "UNAVAILABLE"}


class _Unauthenticated(AuthExpired):
    """A 401 from an API call: refresh once and retry before it becomes the caller's AuthExpired."""


class _Rejected(PermanentError):
    """A 400 carrying google.rpc BadRequest fieldViolations (Data Manager rejected the whole request)."""

    def __init__(self, message: str, violations: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.violations = violations


# ---------------------------------------------------------------- error mapping


def _seconds_to_pacific_midnight() -> float:
    """Google's daily quotas reset at midnight Pacific time."""
    now = dt.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles"))
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (midnight - now).total_seconds())


def _error_from(status: int, body: Any, headers: httpx.Headers | dict[str, str]) -> ProviderError:
    """A typed error from a google.rpc.Status body (Ads GoogleAdsFailure or plain googleapis details)."""
    if isinstance(body, list):
        body = next((item for item in body if isinstance(item, dict) and "error" in item), {})
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):  # OAuth-style or non-JSON body
        err = {"message": (body.get("error_description") or body.get("error")) if isinstance(body, dict) else None}
    message = str(err.get("message") or f"Google returned HTTP {status}")
    code: str | None = err.get("status") if isinstance(err.get("status"), str) else None
    kind = None
    request_id = headers.get("request-id")
    retry_after = parse_duration(headers.get("retry-after"))
    quota_limit = ""
    violations: list[dict[str, Any]] = []
    for detail in err.get("details") or []:
        if not isinstance(detail, dict):
            continue
        dtype = str(detail.get("@type", ""))
        if dtype.endswith(".GoogleAdsFailure"):
            request_id = detail.get("requestId") or request_id
            errors = [e for e in detail.get("errors") or [] if isinstance(e, dict)]
            if errors:
                error_code = errors[0].get("errorCode") or {}
                if error_code:
                    kind, code = next(iter(error_code.items()))
                message = errors[0].get("message") or message
            for e in errors:
                quota = (e.get("details") or {}).get("quotaErrorDetails") or {}
                retry_after = retry_after or parse_duration(quota.get("retryDelay"))
        elif dtype.endswith("google.rpc.ErrorInfo"):
            code = detail.get("reason") or code
            metadata = detail.get("metadata") or {}
            request_id = metadata.get("requestId") or request_id
            quota_limit = str(metadata.get("quota_limit") or metadata.get("quotaLimit") or "")
        elif dtype.endswith("google.rpc.RequestInfo"):
            request_id = detail.get("requestId") or request_id
        elif dtype.endswith("google.rpc.RetryInfo"):
            retry_after = retry_after or parse_duration(detail.get("retryDelay"))
        elif dtype.endswith("google.rpc.BadRequest"):
            violations = [v for v in detail.get("fieldViolations") or [] if isinstance(v, dict)]
    reasons = {str(v.get("reason")) for v in violations if v.get("reason")}
    if len(reasons) == 1 and code in (None, "INVALID_ARGUMENT"):
        code = reasons.pop()  # e.g. INVALID_REQUEST_ID says more than INVALID_ARGUMENT
    common = {"status_code": status, "code": code, "request_id": request_id}
    if status == 401:
        return _Unauthenticated(message, **common)
    if status == 429:
        daily = (kind == "quotaError" and code == "RESOURCE_EXHAUSTED") or "PerDay" in quota_limit
        if retry_after is None and daily:
            retry_after = _seconds_to_pacific_midnight()
        return RateLimited(message, retry_after=retry_after, **common)
    if status in (408, 500, 502, 503, 504) or code in TRANSIENT_CODES:
        if retry_after is not None:  # "come back in N s": RateLimited is how the shared retry policy honours it
            return RateLimited(message, retry_after=retry_after, **common)
        return TransientError(message, **common)
    if violations:
        return _Rejected(message, violations, **common)
    return PermanentError(message, **common)


def _decode(resp: httpx.Response) -> Any:
    """The JSON body of a 2xx answer, or the typed error the answer stands for."""
    try:
        body = resp.json()
    except ValueError:
        body = None
        if resp.is_success:
            raise TransientError(
                "Google returned a malformed (non-JSON or truncated) response",
                status_code=resp.status_code,
                request_id=resp.headers.get("request-id"),
            ) from None
    if not resp.is_success:
        raise _error_from(resp.status_code, body if body is not None else {}, resp.headers)
    return body


async def _send(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TransportError as exc:  # timeouts included; the message never carries the URL or headers
        raise TransientError(f"Could not reach Google ({type(exc).__name__})") from None


def _micros(value: Any) -> int:
    """A double from the API (number or string) as integer micros, rounded half-to-even."""
    if value in (None, ""):
        return 0
    try:
        return int((Decimal(str(value)) * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    except (InvalidOperation, ValueError):
        return 0


_TWO_DIGITS = [f"{n:02d}" for n in range(100)]
_UTC = dt.UTC


def _timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with a Z: YYYY-MM-DDTHH:MM:SS, plus .ffffff when there are microseconds.

    The shape isoformat() writes (a naive value is taken as UTC); years before 1000 keep strftime's
    unpadded %Y. Runs for every pushed event, so UTC values (what Routy's columns hold) are assembled
    from a two-digit table: about half the cost of an aware isoformat() and its "+00:00" cut.
    """
    if moment.tzinfo is _UTC and (year := moment.year) >= 1000:  # the fast path
        two = _TWO_DIGITS
        text = (
            f"{year}-{two[moment.month]}-{two[moment.day]}T{two[moment.hour]}:{two[moment.minute]}:{two[moment.second]}"
        )
        micro = moment.microsecond
        return f"{text}.{micro:06d}Z" if micro else text + "Z"
    if moment.tzinfo is not None:
        if moment.utcoffset():
            moment = moment.astimezone(dt.UTC)
        moment = moment.replace(tzinfo=None)
    if moment.year < 1000:
        text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond:06d}" if moment.microsecond else "")
        return text + "Z"
    return moment.isoformat() + "Z"


def _action_id(action: ConversionAction) -> str:
    return str(action.id).rsplit("/", 1)[-1]


# ---------------------------------------------------------------- the adapter


class GoogleAdsProvider:
    """Google Ads through the Google Ads API (pull) and the Data Manager API (push)."""

    info: ClassVar[ProviderInfo] = GOOGLE_ADS

    def __init__(self, endpoints: Endpoints, http: httpx.AsyncClient, retry: RetryPolicy = DEFAULT_POLICY) -> None:
        self.endpoints = endpoints
        self.http = http
        self.retry = retry
        self.last_credentials: Credentials | None = None

    # ------------------------------------------------------------ OAuth

    def authorization_url(self, state: str, code_verifier: str, redirect_uri: str) -> str:
        """One consent for reporting (adwords) and ingestion (datamanager), offline, PKCE S256."""
        params = {
            "client_id": self.endpoints.google_client_id,
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
        return f"{self.endpoints.google_auth_url}?{urlencode(params, quote_via=quote)}"

    @staticmethod
    def missing_scopes(creds: Credentials) -> list[str]:
        """Scopes Routy needs that the user did not grant (granular consent lets them untick one)."""
        granted = set(creds.scope.split())
        return [s for s in SCOPES if s not in granted]

    async def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> Credentials:
        body = await self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
            refreshing=False,
        )
        return self._remember(self._credentials(body, None))

    async def refresh(self, creds: Credentials) -> Credentials:
        if not creds.refresh_token:
            raise AuthExpired("No refresh token: reconnect Google Ads.", code="NO_REFRESH_TOKEN")
        body = await self._token({"grant_type": "refresh_token", "refresh_token": creds.refresh_token}, refreshing=True)
        return self._remember(self._credentials(body, creds))

    async def revoke(self, creds: Credentials) -> None:
        """Revoke the grant (the refresh token when there is one); an already dead token counts as revoked."""
        token = creds.refresh_token or creds.access_token
        if not token:
            return

        async def call() -> None:
            resp = await _send(self.http, "POST", self.endpoints.google_revoke_url, data={"token": token})
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
                raise PermanentError(
                    f"Google refused the revoke (HTTP {resp.status_code})", status_code=resp.status_code
                )

        await with_retries(call, self.retry)

    async def _token(self, form: dict[str, str], *, refreshing: bool) -> dict[str, Any]:
        data = {
            **form,
            "client_id": self.endpoints.google_client_id,
            "client_secret": self.endpoints.google_client_secret,
        }

        async def call() -> dict[str, Any]:
            resp = await _send(
                self.http, "POST", self.endpoints.google_token_url, data=data, headers={"Accept": "application/json"}
            )
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
            common = {"status_code": resp.status_code, "code": error or None}
            if resp.status_code == 429:
                raise RateLimited(text, retry_after=parse_duration(resp.headers.get("retry-after")), **common)
            if resp.status_code >= 500:
                raise TransientError(text, **common)
            if refreshing and error in ("invalid_grant", "unauthorized_client"):
                raise AuthExpired(text, **common)
            raise PermanentError(text, **common)

        return await with_retries(call, self.retry)

    def _credentials(self, body: dict[str, Any], previous: Credentials | None) -> Credentials:
        now = dt.datetime.now(dt.UTC)
        expires_in = body.get("expires_in")
        expires_at = now + dt.timedelta(seconds=float(expires_in)) if expires_in not in (None, "") else None
        new_grant = bool(body.get("refresh_token")) or previous is None
        granted_at = now if new_grant else previous.granted_at  # type: ignore[union-attr]
        # Google ends a consent given to an OAuth app in "Testing" after 7 days and then says so in the
        # token answer (`refresh_token_expires_in`, seconds); GOOGLE_OAUTH_TESTING covers answers without it.
        rt_expires_in = body.get("refresh_token_expires_in")
        if rt_expires_in not in (None, ""):
            grant_expires_at = now + dt.timedelta(seconds=float(rt_expires_in))
        elif new_grant:
            grant_expires_at = now + TESTING_GRANT_LIFETIME if self.endpoints.google_oauth_testing else None
        else:
            grant_expires_at = previous.grant_expires_at  # type: ignore[union-attr]
        return Credentials(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token") or (previous.refresh_token if previous else None),
            expires_at=expires_at,
            scope=str(body.get("scope") or (previous.scope if previous else "")),
            extra=dict(previous.extra) if previous else {},
            granted_at=granted_at,
            grant_expires_at=grant_expires_at,
        )

    def _remember(self, creds: Credentials) -> Credentials:
        self.last_credentials = creds
        return creds

    def _current(self, creds: Credentials) -> Credentials:
        """The freshest credentials of the same grant (a refresh during an earlier page wins)."""
        last = self.last_credentials
        if last is not None and creds.refresh_token and last.refresh_token == creds.refresh_token:
            return last
        return creds

    async def _authed(self, creds: Credentials, call: Callable[[str], Awaitable[T]]) -> T:
        """Run `call(access_token)` with retries; on 401 refresh once (if possible) and run it again."""
        creds = self._current(creds)
        if creds.refresh_token and (not creds.access_token or creds.expires_within(REFRESH_MARGIN)):
            creds = await self.refresh(creds)
        try:
            return await with_retries(lambda: call(creds.access_token), self.retry)
        except _Unauthenticated:
            if not creds.refresh_token:
                raise
            log.info("Google answered 401; refreshing the access token once")
        fresh = await self.refresh(creds)
        return await with_retries(lambda: call(fresh.access_token), self.retry)

    # ------------------------------------------------------------ Google Ads API

    def _ads_url(self, path: str) -> str:
        return f"{self.endpoints.google_ads_base_url}/{self.endpoints.google_ads_api_version}/{path}"

    def _ads_headers(self, token: str, login_customer_id: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if self.endpoints.google_ads_developer_token:
            headers["developer-token"] = self.endpoints.google_ads_developer_token
        if login_customer_id:
            headers["login-customer-id"] = str(login_customer_id).replace("-", "")
        return headers

    async def _search_page(
        self, creds: Credentials, customer_id: str, query: str, page_token: str | None, login_customer_id: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query}
        if page_token:
            body["pageToken"] = page_token

        async def call(token: str) -> dict[str, Any]:
            resp = await _send(
                self.http,
                "POST",
                self._ads_url(f"customers/{customer_id}/googleAds:search"),
                json=body,
                headers=self._ads_headers(token, login_customer_id),
            )
            page = _decode(resp)
            if not isinstance(page, dict):
                raise TransientError("Google returned a malformed search page", status_code=resp.status_code)
            return page

        return await self._authed(creds, call)

    async def search_stream(
        self, creds: Credentials, customer_id: str, query: str, login_customer_id: str | None = None
    ) -> list[dict[str, Any]]:
        """All rows of a (small) query in one searchStream round trip; errors may arrive array-wrapped."""

        async def call(token: str) -> list[dict[str, Any]]:
            resp = await _send(
                self.http,
                "POST",
                self._ads_url(f"customers/{customer_id}/googleAds:searchStream"),
                json={"query": query},
                headers=self._ads_headers(token, login_customer_id),
            )
            batches = _decode(resp)
            if isinstance(batches, dict):
                batches = [batches]
            if not isinstance(batches, list):
                raise TransientError("Google returned a malformed searchStream response", status_code=resp.status_code)
            rows: list[dict[str, Any]] = []
            for batch in batches:
                if isinstance(batch, dict) and "error" in batch:  # an error after some batches (HTTP 200)
                    code = batch["error"].get("code") if isinstance(batch["error"], dict) else None
                    raise _error_from(int(code or 500), batch, resp.headers)
                rows.extend((batch or {}).get("results") or [])
            return rows

        return await self._authed(creds, call)

    async def accessible_customer_ids(self, creds: Credentials) -> list[str]:
        """customers:listAccessibleCustomers: the customers the user reaches directly (no manager header)."""

        async def call(token: str) -> dict[str, Any]:
            resp = await _send(
                self.http,
                "GET",
                self._ads_url("customers:listAccessibleCustomers"),
                headers=self._ads_headers(token, None),
            )
            return _decode(resp)

        listing = await self._authed(creds, call)
        return [str(name).rsplit("/", 1)[-1] for name in (listing or {}).get("resourceNames") or []]

    async def list_accounts(self, creds: Credentials) -> list[Account]:
        """Directly accessible customers, then each manager's direct clients (reached through the manager)."""
        ids = await self.accessible_customer_ids(creds)
        accounts: list[Account] = []
        for customer_id in ids:
            try:
                rows = await self.search_stream(creds, customer_id, CUSTOMER_QUERY)
            except PermanentError as exc:  # e.g. CUSTOMER_NOT_ENABLED: listed but not usable
                log.warning(
                    "Skipping Google Ads customer %s: %s (request-id %s)", customer_id, exc.message, exc.request_id
                )
                continue
            if rows:
                c = rows[0].get("customer") or {}
                accounts.append(
                    Account(
                        id=str(c.get("id", customer_id)),
                        name=c.get("descriptiveName") or customer_id,
                        currency=c.get("currencyCode", ""),
                        timezone=c.get("timeZone", ""),
                        manager=bool(c.get("manager")),
                        status=c.get("status", "ENABLED"),
                    )
                )
        known = {a.id for a in accounts}
        for manager in [a for a in accounts if a.manager]:
            try:
                rows = await self.search_stream(creds, manager.id, CHILDREN_QUERY, login_customer_id=manager.id)
            except PermanentError as exc:
                log.warning("Could not list clients of manager %s: %s", manager.id, exc.message)
                continue
            for row in rows:
                cc = row.get("customerClient") or {}
                child_id = str(cc.get("id", ""))
                if not child_id or str(cc.get("level", "0")) == "0" or child_id in known:
                    continue
                known.add(child_id)
                accounts.append(
                    Account(
                        id=child_id,
                        name=cc.get("descriptiveName") or child_id,
                        currency=cc.get("currencyCode", ""),
                        timezone=cc.get("timeZone", ""),
                        manager=bool(cc.get("manager")),
                        login_customer_id=manager.id,
                        parent_id=manager.id,
                        status=cc.get("status", "ENABLED"),
                    )
                )
        return accounts

    async def test_connection(self, creds: Credentials, account: Account) -> None:
        """A one-row customer query: proves the token, the account access and the login-customer-id."""
        await self.search_stream(
            creds, account.id, "SELECT customer.id FROM customer LIMIT 1", login_customer_id=account.login_customer_id
        )

    async def fetch_metrics(
        self, creds: Credentials, account: Account, level: Level, start: dt.date, end: dt.date
    ) -> AsyncIterator[list[MetricRecord]]:
        """Daily rows for `level`, one list per 10,000-row search page (never the whole report at once)."""
        if level not in LEVEL_QUERIES:
            raise ValueError(f"Google Ads has no {level!r} level")
        query = f"{LEVEL_QUERIES[level]} WHERE segments.date BETWEEN '{start.isoformat()}' AND '{end.isoformat()}'"
        token: str | None = None
        while True:
            page = await self._search_page(creds, account.id, query, token, account.login_customer_id)
            rows = page.get("results") or []
            if rows:
                yield [self._record(level, row, account.currency) for row in rows]
            token = page.get("nextPageToken")
            if not token:
                return

    @staticmethod
    def _record(level: Level, row: dict[str, Any], currency: str) -> MetricRecord:
        campaign = row.get("campaign") or {}
        ad_group = row.get("adGroup") or {}
        ad = (row.get("adGroupAd") or {}).get("ad") or {}
        criterion = row.get("adGroupCriterion") or {}
        metrics = row.get("metrics") or {}
        try:
            day = dt.date.fromisoformat(str((row.get("segments") or {})["date"]))
            return MetricRecord(
                level=level,
                date=day,
                campaign_id=str(campaign.get("id", "")),
                campaign_name=str(campaign.get("name", "")),
                ad_group_id=str(ad_group.get("id", "")),
                ad_group_name=str(ad_group.get("name", "")),
                ad_id=str(ad.get("id", "")),
                ad_name=str(ad.get("name", "")),
                keyword_id=str(criterion.get("criterionId", "")),
                keyword_text=str((criterion.get("keyword") or {}).get("text", "")),
                impressions=int(metrics.get("impressions", 0)),
                clicks=int(metrics.get("clicks", 0)),
                cost_micros=int(metrics.get("costMicros", 0)),
                conversions_micros=_micros(metrics.get("conversions")),
                conversion_value_micros=_micros(metrics.get("conversionsValue")),
                currency=currency,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise TransientError(f"Google returned a malformed report row ({type(exc).__name__})") from None

    async def list_conversion_actions(self, creds: Credentials, account: Account) -> list[ConversionAction]:
        """Enabled UPLOAD_CLICKS actions: the only ones Data Manager accepts as productDestinationId.

        With cross-account conversion tracking the list also holds actions a manager owns
        (`extra["owner_customer"]`); google_conversion_rules refuses those as destinations.
        """
        rows = await self.search_stream(
            creds, account.id, CONVERSION_ACTIONS_QUERY, login_customer_id=account.login_customer_id
        )
        return [self._action(row) for row in rows]

    async def conversion_action(self, creds: Credentials, account: Account, action_id: str) -> ConversionAction | None:
        """One conversion action by id, whatever its type and status (None when the account has no such action)."""
        if not str(action_id).isdigit():
            return None
        rows = await self.search_stream(
            creds,
            account.id,
            f"{CONVERSION_ACTION_QUERY} WHERE conversion_action.id = {int(action_id)}",
            login_customer_id=account.login_customer_id,
        )
        return self._action(rows[0]) if rows else None

    @staticmethod
    def _action(row: dict[str, Any]) -> ConversionAction:
        ca = row.get("conversionAction") or {}
        return ConversionAction(
            id=str(ca.get("id", "")),
            name=str(ca.get("name", "")),
            kind=str(ca.get("type", "")),
            extra={
                "category": ca.get("category", ""),
                "resource_name": ca.get("resourceName", ""),
                "owner_customer": ca.get("ownerCustomer", ""),
                "status": ca.get("status", ""),
            },
        )

    # ------------------------------------------------------------ Data Manager API

    async def _datamanager(self, creds: Credentials, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.endpoints.google_datamanager_base_url}/{path}"

        async def call(token: str) -> dict[str, Any]:
            resp = await _send(
                self.http,
                method,
                url,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                **kwargs,
            )
            body = _decode(resp)
            if not isinstance(body, dict):
                raise TransientError("Google returned a malformed Data Manager response", status_code=resp.status_code)
            return body

        return await self._authed(creds, call)

    @staticmethod
    def _event(conv: OutgoingConversion, reference: str | list[str]) -> dict[str, Any]:
        """One Data Manager event. Runs for every pushed conversion: optional parts are only built when present.

        `reference` is the destination reference or an already built one-item list of it (shared by the events
        of a request that go to the same destination).
        """
        refs = reference if isinstance(reference, list) else [reference]
        event: dict[str, Any] = {
            "destinationReferences": refs,
            "transactionId": conv.key,
            "eventTimestamp": _timestamp(conv.occurred_at),
            "eventSource": event_source(conv),
        }
        currency = conv.currency
        if conv.value_micros or currency:
            event["conversionValue"] = conv.value_micros / 1_000_000
        if currency:
            event["currency"] = currency.upper()
        ad_ids: dict[str, Any] = {}
        if conv.gclid:
            ad_ids["gclid"] = conv.gclid
        if conv.gbraid:
            ad_ids["gbraid"] = conv.gbraid
        if conv.wbraid:
            ad_ids["wbraid"] = conv.wbraid
        if conv.user_agent or conv.ip:
            device = {k: v for k, v in (("userAgent", conv.user_agent), ("ipAddress", conv.ip)) if v}
            ad_ids["landingPageDeviceInfo"] = device
        if ad_ids:
            event["adIdentifiers"] = ad_ids
        if conv.email_sha256 or conv.phone_sha256:
            event["userData"] = {
                "userIdentifiers": ([{"emailAddress": conv.email_sha256}] if conv.email_sha256 else [])
                + ([{"phoneNumber": conv.phone_sha256}] if conv.phone_sha256 else [])
            }
        if conv.consent_ad_user_data or conv.consent_ad_personalization:
            consent = {
                k: CONSENT[v]
                for k, v in (
                    ("adUserData", conv.consent_ad_user_data),
                    ("adPersonalization", conv.consent_ad_personalization),
                )
                if v in CONSENT
            }
            if consent:
                event["consent"] = consent
        return event

    async def push_conversions(
        self, creds: Credentials, account: Account, batch: list[OutgoingConversion], *, validate_only: bool = False
    ) -> list[PushResult]:
        """Send one events:ingest request for the batch; results come back in batch order.

        - More than `info.push_batch_limit` events, or more than 10 distinct conversion actions: ValueError.
        - Events with no click ID and no hashed email/phone are `skipped` locally (Google would reject the
          whole request with NO_IDENTIFIERS_PROVIDED), and so are events with no eventSource (neither an
          `origin` nor a mapping choice: Google would reject the request with REQUIRED_FIELD_MISSING).
        - A 400 with fieldViolations rejects the whole request: the named events are `failed` with Google's
          description; the others are `failed` with NOT_PROCESSED so the caller may retry them alone.
        - Success: every sent event is `sent` with the request ID (look the verdict up with check_verdict).
          With validate_only nothing is ingested: `sent` results carry no request ID.
        - Auth, quota and server errors raise (after retries), as for every other call.
        """
        if len(batch) > self.info.push_batch_limit:
            raise ValueError(
                f"At most {self.info.push_batch_limit} conversions per Data Manager request, got {len(batch)}"
            )
        results: list[PushResult] = [NO_IDENTIFIER] * len(batch)
        sendable = []
        for i, conv in enumerate(batch):
            if not (conv.gclid or conv.gbraid or conv.wbraid or conv.email_sha256 or conv.phone_sha256):
                continue
            if event_source(conv) is None:
                results[i] = NO_EVENT_SOURCE
                continue
            sendable.append(i)
        if sendable:
            await self._ingest(creds, account, batch, sendable, results, validate_only)
        return results

    async def _ingest(
        self,
        creds: Credentials,
        account: Account,
        batch: list[OutgoingConversion],
        sendable: list[int],
        results: list[PushResult],
        validate_only: bool,
    ) -> None:
        references: dict[str, str] = {}  # action id -> destination reference
        by_action: dict[str, list[str]] = {}  # ConversionAction.id -> [reference], one _action_id per action
        event, events = self._event, []
        for i in sendable:
            conv = batch[i]
            refs = by_action.get(conv.action.id)
            if refs is None:  # events of one action share one (never mutated) destinationReferences list
                refs = by_action[conv.action.id] = [
                    references.setdefault(_action_id(conv.action), f"d{len(references)}")
                ]
            events.append(event(conv, refs))
        if len(references) > MAX_DESTINATIONS:
            raise ValueError(f"At most {MAX_DESTINATIONS} conversion actions per Data Manager request")
        destinations = []
        for action_id, ref in references.items():
            dest: dict[str, Any] = {
                "reference": ref,
                "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": account.id},
                "productDestinationId": action_id,
            }
            if account.login_customer_id and account.login_customer_id != account.id:
                dest["loginAccount"] = {"accountType": "GOOGLE_ADS", "accountId": account.login_customer_id}
            destinations.append(dest)
        body = {"destinations": destinations, "events": events, "encoding": "HEX", "validateOnly": validate_only}
        try:
            answer = await self._datamanager(creds, "POST", "v1/events:ingest", json=body)
        except _Rejected as exc:
            self._rejected(exc, sendable, results)
            return
        request_id = None if validate_only else answer.get("requestId")
        text = (
            "validated only (validateOnly): nothing was ingested"
            if validate_only
            else f"accepted by Data Manager, requestId {answer.get('requestId')}"
        )
        if answer.get("fieldWarnings"):
            text += "; warnings: " + "; ".join(f"{w.get('field')}: {w.get('reason')}" for w in answer["fieldWarnings"])
        sent = PushResult("sent", response=text, request_id=request_id)
        for i in sendable:
            results[i] = sent

    @staticmethod
    def _rejected(exc: _Rejected, sendable: list[int], results: list[PushResult]) -> None:
        per_event: dict[int, list[str]] = {}
        general: list[str] = []
        for violation in exc.violations:
            field = str(violation.get("field", ""))
            text = str(violation.get("description") or exc.message)
            if violation.get("reason"):
                text += f" [{violation['reason']} at {field}]" if field else f" [{violation['reason']}]"
            match = re.search(r"events\[(\d+)\]", field)
            if match and int(match.group(1)) < len(sendable):
                per_event.setdefault(int(match.group(1)), []).append(text)
            else:
                general.append(text)
        response = f"HTTP {exc.status_code} {exc.code or ''} (request-id {exc.request_id})"
        others = PushResult("failed", error="; ".join(general) if general else NOT_PROCESSED, response=response)
        for position, i in enumerate(sendable):
            named = per_event.get(position)
            results[i] = PushResult("failed", error="; ".join(named), response=response) if named else others

    async def check_verdict(self, creds: Credentials, request_id: str) -> Verdict:
        """The asynchronous processing verdict of an events:ingest request (requestStatus:retrieve)."""
        body = await self._datamanager(creds, "GET", "v1/requestStatus:retrieve", params={"requestId": request_id})
        entries = [e for e in body.get("requestStatusPerDestination") or [] if isinstance(e, dict)]
        statuses = [str(e.get("requestStatus") or "REQUEST_STATUS_UNKNOWN") for e in entries]
        if not statuses:
            status = "REQUEST_STATUS_UNKNOWN"
        elif "PROCESSING" in statuses:
            status = "PROCESSING"
        elif all(s == "SUCCESS" for s in statuses):
            status = "SUCCESS"
        elif all(s == "FAILED" for s in statuses):
            status = "FAILED"
        elif any(s in ("PARTIAL_SUCCESS", "FAILED") for s in statuses):
            status = "PARTIAL_SUCCESS"
        else:
            status = "REQUEST_STATUS_UNKNOWN"
        records = 0
        errors: dict[str, int] = {}
        for entry in entries:
            records += int((entry.get("eventsIngestionStatus") or {}).get("recordCount") or 0)
            for item in (entry.get("errorInfo") or {}).get("errorCounts") or []:
                reason = str(item.get("reason") or "UNKNOWN")
                errors[reason] = errors.get(reason, 0) + int(item.get("recordCount") or 0)
        return Verdict(request_id=request_id, status=status, record_count=records, error_counts=errors)
