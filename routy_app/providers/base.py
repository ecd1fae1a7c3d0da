"""The one small interface every provider adapter implements, its value types and its errors.

Adapters are plain async Python (httpx + authlib); they never touch the database or Reflex.
The services layer (connections, pull, push) is the only caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import httpx

AuthKind = Literal["oauth", "manual"]
Capability = Literal["pull", "push"]
Level = Literal["campaign", "ad_group", "ad", "keyword"]
PushStatus = Literal["sent", "failed", "skipped"]
# Where a conversion happened, as the ingest API takes it (optional). Adapters map it to their own
# vocabulary (Google Data Manager eventSource); without it the mapping's choice applies.
CONVERSION_ORIGINS: tuple[str, ...] = ("web", "app", "in_store", "phone", "other")


# ---------------------------------------------------------------- errors


class ProviderError(Exception):
    """Base of every adapter error; `message` is the provider's own text, shown to the user."""

    def __init__(
        self, message: str, *, status_code: int | None = None, code: str | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id


class AuthExpired(ProviderError):
    """Authorisation is gone for good (invalid_grant, Meta 190, revoked): the user must reconnect."""


class RateLimited(ProviderError):
    """The provider throttled us; `retry_after` seconds is its own hint when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TransientError(ProviderError):
    """5xx, timeouts, connection errors: safe to retry with backoff."""


class PermanentError(ProviderError):
    """The request itself is wrong (4xx validation, permission): retrying will not help."""


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Credentials:
    """What an authorisation yields. Secrets live here only in memory; the DB copy is encrypted."""

    access_token: str = ""
    refresh_token: str | None = None
    expires_at: dt.datetime | None = None  # UTC; None = does not expire
    scope: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. GA4 measurement_id / api_secret
    granted_at: dt.datetime | None = None  # when the user granted it (the refresh token was issued)
    # When the grant itself ends, refresh or not (Google: `refresh_token_expires_in`, e.g. an OAuth app in
    # "Testing"); None = not known to end. Without a refresh token, `expires_at` is the end anyway.
    grant_expires_at: dt.datetime | None = None

    @property
    def access_ends_at(self) -> dt.datetime | None:
        """When access stops unless the user consents again (None: it does not end by itself)."""
        if self.grant_expires_at is not None:
            return self.grant_expires_at
        return None if self.refresh_token else self.expires_at

    def expires_within(self, seconds: float) -> bool:
        if self.expires_at is None:
            return False
        return (self.expires_at - dt.datetime.now(dt.UTC)).total_seconds() < seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "scope": self.scope,
            "extra": self.extra,
            "granted_at": self.granted_at.isoformat() if self.granted_at else None,
            "grant_expires_at": self.grant_expires_at.isoformat() if self.grant_expires_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Credentials:
        def when(key: str) -> dt.datetime | None:
            value = data.get(key)
            return dt.datetime.fromisoformat(value) if value else None

        return cls(
            access_token=data.get("access_token") or "",
            refresh_token=data.get("refresh_token"),
            expires_at=when("expires_at"),
            scope=data.get("scope") or "",
            extra=dict(data.get("extra") or {}),
            granted_at=when("granted_at"),
            grant_expires_at=when("grant_expires_at"),
        )


@dataclass(frozen=True)
class Account:
    """An ad account (or GA4 property / stream) the credentials can reach."""

    id: str
    name: str
    currency: str
    timezone: str
    manager: bool = False
    login_customer_id: str | None = None  # Google: the manager to log in through, when reached via one
    parent_id: str | None = None  # Google: the manager this client was listed under
    status: str = "ENABLED"


@dataclass(frozen=True)
class MetricRecord:
    """One day of metrics at one level. Money and conversions are integer micros."""

    level: Level
    date: dt.date
    campaign_id: str = ""
    campaign_name: str = ""
    ad_group_id: str = ""
    ad_group_name: str = ""
    ad_id: str = ""
    ad_name: str = ""
    keyword_id: str = ""
    keyword_text: str = ""
    impressions: int = 0
    clicks: int = 0
    cost_micros: int = 0
    conversions_micros: int = 0
    conversion_value_micros: int = 0
    currency: str = ""


@dataclass(frozen=True)
class ConversionAction:
    """A provider-side target for pushed conversions (Google action, Meta pixel+event, GA4 event)."""

    id: str
    name: str
    kind: str = ""  # Google type (UPLOAD_CLICKS), Meta "pixel", GA4 "event"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class OutgoingConversion:
    """A conversion ready to push. `key` is the dedup key sent to the provider on every attempt.

    Built for every pushed event, so not frozen: a frozen dataclass's __init__ (object.__setattr__
    per field) costs about 8x a slotted one's. Treat it as read-only all the same.
    """

    key: str
    event_type: str
    action: ConversionAction
    occurred_at: dt.datetime  # UTC
    value_micros: int = 0
    currency: str = ""
    gclid: str | None = None
    gbraid: str | None = None
    wbraid: str | None = None
    fbc: str | None = None
    fbp: str | None = None
    ga_client_id: str | None = None
    email_sha256: str | None = None  # Google/GA4 normalisation
    phone_sha256: str | None = None
    email_sha256_meta: str | None = None  # Meta normalisation
    phone_sha256_meta: str | None = None
    user_agent: str | None = None
    ip: str | None = None
    consent_ad_user_data: str | None = None  # "granted" | "denied" | None
    consent_ad_personalization: str | None = None
    origin: str | None = None  # one of CONVERSION_ORIGINS, when the ingest API was told


@dataclass(frozen=True, slots=True)
class PushResult:
    """The outcome of one event of a batch; `status` sent/failed/skipped with the provider's words.

    `push_conversions` answers with one per event, in batch order: results[i] belongs to batch[i].
    Events with the same outcome share one object (all events of an accepted request, say): a result
    object per event would be thousands of identical objects per request for the garbage collector.
    """

    status: PushStatus
    error: str | None = None
    response: str | None = None
    request_id: str | None = None  # Google Data Manager: look the verdict up later
    retryable: bool = False  # failed for a passing reason (network, 5xx): the push engine retries it later


@dataclass(frozen=True)
class Verdict:
    """An asynchronous processing verdict (Google Data Manager `requestStatus:retrieve`)."""

    request_id: str
    status: str  # PROCESSING | SUCCESS | PARTIAL_SUCCESS | FAILED | REQUEST_STATUS_UNKNOWN
    record_count: int = 0
    error_counts: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status not in ("PROCESSING",)


@dataclass(frozen=True)
class ProviderInfo:
    """Card metadata: what the Integrations tab shows before anything is connected."""

    key: str
    name: str
    description: str
    logo: str  # path under assets/
    auth: AuthKind
    capabilities: frozenset[Capability]
    levels: tuple[Level, ...]
    push_batch_limit: int
    push_window_days: float  # conversions older than this are skipped


# ---------------------------------------------------------------- the interface


@runtime_checkable
class Provider(Protocol):
    """What the services call. OAuth providers implement the OAuth methods; manual ones raise."""

    info: ClassVar[ProviderInfo]

    def authorization_url(self, state: str, code_verifier: str, redirect_uri: str) -> str: ...

    async def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> Credentials: ...

    async def refresh(self, creds: Credentials) -> Credentials: ...

    async def revoke(self, creds: Credentials) -> None: ...

    async def list_accounts(self, creds: Credentials) -> list[Account]: ...

    async def test_connection(self, creds: Credentials, account: Account) -> None: ...

    def fetch_metrics(
        self, creds: Credentials, account: Account, level: Level, start: dt.date, end: dt.date
    ) -> AsyncIterator[list[MetricRecord]]: ...

    async def list_conversion_actions(self, creds: Credentials, account: Account) -> list[ConversionAction]: ...

    async def push_conversions(
        self, creds: Credentials, account: Account, batch: list[OutgoingConversion], *, validate_only: bool = False
    ) -> list[PushResult]:
        """One request's worth of events; one result per event, in batch order (see PushResult)."""
        ...


HttpClient = httpx.AsyncClient
