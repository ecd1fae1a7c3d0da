"""The values adapters take and give: credentials, accounts, metric records, conversions and push results.

Frozen where they cross layers; `OutgoingConversion` is slotted and mutable for speed (see its docstring).
Adapters never touch the database or Reflex; the services are their only callers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["campaign", "ad_group", "ad", "keyword"]
PushStatus = Literal["sent", "failed", "skipped"]
# Where a conversion happened, as the ingest API takes it (optional). Adapters map it to their own
# vocabulary (Google Data Manager eventSource); without it the mapping's choice applies.
CONVERSION_ORIGINS: tuple[str, ...] = ("web", "app", "in_store", "phone", "other")


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
    external_id: str = ""  # the id the conversion was sent to Routy with (the Webhook's {id} macro)


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
    # Failed only because another event of the same request was bad (Google rejects a whole request, Meta a
    # whole batch): the engine sends it again at once without the bad one, without counting an attempt.
    collateral: bool = False


@dataclass(frozen=True)
class Verdict:
    """An asynchronous processing verdict (Google Data Manager `requestStatus:retrieve`)."""

    request_id: str
    status: str  # PROCESSING | SUCCESS | PARTIAL_SUCCESS | FAILED | REQUEST_STATUS_UNKNOWN
    record_count: int = 0
    error_counts: dict[str, int] = field(default_factory=dict)
    detail: str = ""  # why the status is unknown, in the provider's words (e.g. it does not know the request)

    @property
    def done(self) -> bool:
        return self.status not in ("PROCESSING",)
