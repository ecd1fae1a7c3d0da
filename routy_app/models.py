"""Database tables as plain SQLModel classes on our own engine (not Reflex's deprecated model base).

Money is integer micros (value x 1,000,000) and every datetime is timezone-aware UTC: the
`UTCDateTime` column type stores naive UTC (SQLite has no zone) and hands back aware values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import BigInteger, DateTime, Index, Table, Text, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from routy_app.timeutil import as_utc, utcnow


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (naive values are refused on write).

    On SQLite (text, naive UTC) the value is converted straight to and from SQLAlchemy's storage
    format "YYYY-MM-DD HH:MM:SS.ffffff": `datetime.replace(tzinfo=...)` costs about ten times a
    `fromisoformat` of the text with "+00:00", and every pushed or listed row reads one or more.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = _aware_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value  # (SQL literals on SQLite)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else as_utc(value)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_utc_text

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _sqlite_utc_datetime


_UTC = dt.UTC


def _aware_utc(value: dt.datetime) -> dt.datetime:
    """The same instant in UTC; a naive value is refused (its zone would be a guess)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column; use timeutil.utcnow()")
    return value if value.tzinfo is _UTC else value.astimezone(_UTC)


def _sqlite_utc_text(value: dt.datetime | None) -> str | None:
    """An aware datetime as SQLAlchemy's SQLite text for it in UTC (microseconds always written)."""
    if value is None:
        return None
    return _aware_utc(value).isoformat(" ", "microseconds")[:-6]  # drop "+00:00"


def _sqlite_utc_datetime(value: str | dt.datetime | None) -> dt.datetime | None:
    """SQLite text (naive UTC) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value + "+00:00")
        except ValueError:  # not the stored shape (e.g. an offset already): parse it as it is
            value = dt.datetime.fromisoformat(value)
    return as_utc(value)


def utc_field(nullable: bool = True, default_now: bool = False, index: bool = False) -> Any:
    """A UTC datetime column; `default_now` fills it with the current time."""
    kwargs = {"default_factory": utcnow} if default_now else {"default": None}
    return Field(sa_column_kwargs={}, sa_type=UTCDateTime, nullable=nullable, index=index, **kwargs)


def micros_field(default: int = 0) -> Any:
    """An integer micros column wide enough for any currency amount."""
    return Field(default=default, sa_type=BigInteger, nullable=False)


def table_of(model: type[SQLModel]) -> Table:
    """The model's Core table, for Core statements (hot paths build them once, at import)."""
    # SQLAlchemy's declarative mapping sets `__table__` on every `table=True` class; sqlmodel's stubs
    # do not declare it.
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


class _Saved(Protocol):
    id: int | None


def saved_id(row: _Saved) -> int:
    """The primary key of a row read from the database or flushed to it (always set there)."""
    pk = row.id
    if pk is None:
        raise RuntimeError(f"{type(row).__name__} has no id: it was never flushed")
    return pk


def key_of(value: int | None, what: str = "row") -> int:
    """A primary key as read back from the database: never NULL there (the models' `id: int | None` is
    for rows not inserted yet)."""
    if value is None:
        raise RuntimeError(f"{what} has no id: it was never flushed")
    return value


class IntegrationStatus(StrEnum):
    PENDING_ACCOUNT = "pending_account"
    ACTIVE = "active"
    PAUSED = "paused"
    RECONNECT_REQUIRED = "reconnect_required"
    NEEDS_ATTENTION = "needs_attention"


class Direction(StrEnum):
    PULL = "pull"
    PUSH = "push"
    BIDIRECTIONAL = "bidirectional"


class TrafficSource(SQLModel, table=True):
    """A Routy traffic source; integrations and conversions belong to one."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    api_key_hash: str | None = Field(default=None, max_length=128, index=True)
    api_key_last4: str | None = Field(default=None, max_length=8)
    api_key_created_at: dt.datetime | None = utc_field()
    created_at: dt.datetime = utc_field(nullable=False, default_now=True)


class Integration(SQLModel, table=True):
    """One managed connection of a traffic source to one provider."""

    __table_args__ = (UniqueConstraint("traffic_source_id", "provider", name="uq_integration_source_provider"),)

    id: int | None = Field(default=None, primary_key=True)
    traffic_source_id: int = Field(foreign_key="trafficsource.id", index=True)
    provider: str = Field(max_length=32)
    status: str = Field(default=IntegrationStatus.PENDING_ACCOUNT, max_length=32)
    account_id: str | None = Field(default=None, max_length=64)
    account_name: str | None = Field(default=None, max_length=300)
    account_currency: str | None = Field(default=None, max_length=3)
    account_timezone: str | None = Field(default=None, max_length=64)
    login_customer_id: str | None = Field(default=None, max_length=64)
    credentials_enc: str | None = Field(default=None, sa_type=Text)
    token_expires_at: dt.datetime | None = utc_field()
    # When the current grant was issued, and when access ends without a new consent (a Meta long-lived
    # token's expiry; a Google refresh token of an OAuth app in "Testing": 7 days). None = not known / never.
    authorized_at: dt.datetime | None = utc_field()
    access_expires_at: dt.datetime | None = utc_field()
    settings_json: str = Field(default="{}", sa_type=Text)
    direction: str = Field(default=Direction.BIDIRECTIONAL, max_length=16)
    schedule_minutes: int = Field(default=60)
    lookback_days: int = Field(default=7)
    history_days: int = Field(default=90)
    last_success_at: dt.datetime | None = utc_field()
    last_sync_at: dt.datetime | None = utc_field()  # the last pull or push, whatever its outcome
    last_pull_at: dt.datetime | None = utc_field()  # start of the last pull that finished: the pull schedule's clock
    consecutive_failures: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=Text)
    metrics_cursor: dt.date | None = Field(default=None)
    created_at: dt.datetime = utc_field(nullable=False, default_now=True)
    updated_at: dt.datetime = utc_field(nullable=False, default_now=True)


class OAuthState(SQLModel, table=True):
    """A pending OAuth authorisation: single use, short-lived, carries the PKCE verifier."""

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(max_length=128, unique=True)
    provider: str = Field(max_length=32)
    traffic_source_id: int = Field(foreign_key="trafficsource.id")
    integration_id: int | None = Field(default=None)
    purpose: str = Field(default="connect", max_length=16)
    code_verifier: str = Field(max_length=128)
    session_id: str | None = Field(default=None, max_length=128)
    created_at: dt.datetime = utc_field(nullable=False, default_now=True)
    expires_at: dt.datetime = utc_field(nullable=False)
    used_at: dt.datetime | None = utc_field()


class SyncRun(SQLModel, table=True):
    """One attempt of a pull, push or test; written as running first, closed at the end."""

    __table_args__ = (Index("ix_syncrun_integration_started", "integration_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id")
    kind: str = Field(max_length=8)  # pull | push | test
    trigger: str = Field(max_length=16)  # schedule | manual | full
    status: str = Field(default="running", max_length=16)  # running | success | partial | failed | interrupted
    started_at: dt.datetime = utc_field(nullable=False, default_now=True)
    finished_at: dt.datetime | None = utc_field()
    records_read: int = Field(default=0)
    records_inserted: int = Field(default=0)
    records_updated: int = Field(default=0)
    records_failed: int = Field(default=0)
    progress_level: str | None = Field(default=None, max_length=32)
    # Rows read per level so far, as JSON {"campaign": 120, "ad_group": 1020}: the Sync page shows them.
    level_rows: str | None = Field(default=None, sa_type=Text)
    error: str | None = Field(default=None, sa_type=Text)
    holder: str | None = Field(default=None, max_length=200)  # the lease holder running it (services/leases.py)


class MetricRow(SQLModel, table=True):
    """A day of metrics at one level; the natural key makes a re-pull an update, never a duplicate.

    Ids that do not apply at a level are '' (not NULL) so the unique key holds on every backend.
    """

    __table_args__ = (
        UniqueConstraint(
            "integration_id",
            "level",
            "date",
            "campaign_id",
            "ad_group_id",
            "ad_id",
            "keyword_id",
            name="uq_metricrow_natural_key",
        ),
        Index("ix_metricrow_integration_level_date", "integration_id", "level", "date"),
        Index("ix_metricrow_drilldown", "integration_id", "level", "campaign_id", "ad_group_id", "date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id")
    level: str = Field(max_length=16)
    date: dt.date
    campaign_id: str = Field(default="", max_length=64)
    campaign_name: str = Field(default="", max_length=300)
    ad_group_id: str = Field(default="", max_length=64)
    ad_group_name: str = Field(default="", max_length=300)
    ad_id: str = Field(default="", max_length=64)
    ad_name: str = Field(default="", max_length=300)
    keyword_id: str = Field(default="", max_length=64)
    keyword_text: str = Field(default="", max_length=300)
    impressions: int = Field(default=0, sa_type=BigInteger)
    clicks: int = Field(default=0, sa_type=BigInteger)
    cost_micros: int = micros_field()
    conversions_micros: int = micros_field()
    conversion_value_micros: int = micros_field()
    currency: str = Field(default="", max_length=3)


class Conversion(SQLModel, table=True):
    """A Routy conversion event as received; email/phone only as SHA-256 of the normalised value."""

    __table_args__ = (
        UniqueConstraint("traffic_source_id", "external_id", name="uq_conversion_source_external"),
        Index("ix_conversion_source_received", "traffic_source_id", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    traffic_source_id: int = Field(foreign_key="trafficsource.id")
    external_id: str = Field(max_length=200)
    event_type: str = Field(max_length=64)
    occurred_at: dt.datetime = utc_field(nullable=False)
    value_micros: int = micros_field()
    currency: str = Field(default="", max_length=3)
    gclid: str | None = Field(default=None, max_length=512)
    gbraid: str | None = Field(default=None, max_length=512)
    wbraid: str | None = Field(default=None, max_length=512)
    fbc: str | None = Field(default=None, max_length=512)
    fbp: str | None = Field(default=None, max_length=512)
    ga_client_id: str | None = Field(default=None, max_length=200)
    email_sha256: str | None = Field(default=None, max_length=64)  # Google/GA4 normalisation
    phone_sha256: str | None = Field(default=None, max_length=64)
    email_sha256_meta: str | None = Field(default=None, max_length=64)  # Meta normalisation
    phone_sha256_meta: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=1000)
    ip: str | None = Field(default=None, max_length=64)
    consent_ad_user_data: str | None = Field(default=None, max_length=16)
    consent_ad_personalization: str | None = Field(default=None, max_length=16)
    origin: str | None = Field(default=None, max_length=16)  # where it happened: web|app|in_store|phone|other
    received_at: dt.datetime = utc_field(nullable=False, default_now=True)


class ConversionMapping(SQLModel, table=True):
    """Routy event type -> provider conversion action; only enabled mappings are pushed."""

    __table_args__ = (UniqueConstraint("integration_id", "event_type", "action_id", name="uq_mapping"),)

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id", index=True)
    event_type: str = Field(max_length=64)
    action_id: str = Field(max_length=200)
    action_name: str = Field(default="", max_length=300)
    extra_json: str = Field(default="{}", sa_type=Text)
    enabled: bool = Field(default=True)
    created_at: dt.datetime = utc_field(nullable=False, default_now=True)


class PushRequest(SQLModel, table=True):
    """One provider request that accepted events: the provider's answer and, for Google, the
    asynchronous verdict. Sent outbox rows point here, so both are written once per request (up to
    2,000 events) instead of once per event."""

    # Only requests still waiting for a verdict are indexed: the every-minute poll reads a handful of rows.
    __table_args__ = (
        Index(
            "ix_pushrequest_check",
            "next_check_at",
            "integration_id",
            sqlite_where=text("next_check_at IS NOT NULL"),
            postgresql_where=text("next_check_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id")
    run_id: int | None = Field(default=None)
    request_id: str | None = Field(default=None, max_length=128)  # Google Data Manager requestId
    response: str | None = Field(default=None, sa_type=Text)  # the provider's answer
    verdict: str | None = Field(default=None, max_length=64)  # processing | accepted | rejected: .. | partial: ..
    verdict_detail: str | None = Field(default=None, sa_type=Text)
    next_check_at: dt.datetime | None = utc_field()  # verdict check due; None once settled (or nothing to wait for)
    sent_at: dt.datetime = utc_field(nullable=False, default_now=True)


class ConversionPush(SQLModel, table=True):
    """The outbox and Push History: one row per integration x conversion x mapping.

    `next_attempt_at` is set exactly while the row waits for something (pending: always; failed: when a
    retry is scheduled), so the partial index ix_push_due holds only rows that may become due: sending
    one takes it out of the index rather than moving it inside.
    """

    __table_args__ = (
        UniqueConstraint("integration_id", "conversion_id", "mapping_id", name="uq_push_once"),
        Index(
            "ix_push_due",
            "integration_id",
            "status",
            "next_attempt_at",
            sqlite_where=text("next_attempt_at IS NOT NULL"),
            postgresql_where=text("next_attempt_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(foreign_key="integration.id")
    conversion_id: int = Field(foreign_key="conversion.id")
    mapping_id: int = Field(foreign_key="conversionmapping.id")
    status: str = Field(default="pending", max_length=16)  # pending|sent|failed|skipped
    attempts: int = Field(default=0)
    next_attempt_at: dt.datetime | None = utc_field()
    sent_at: dt.datetime | None = utc_field()
    run_id: int | None = Field(default=None)
    # The PushRequest that sent the row. No FOREIGN KEY on purpose: SQLite would look the request up
    # again for every row marked sent (about a third of that UPDATE's cost); the two are written in one
    # transaction and deleted together (integrations.disconnect).
    push_request_id: int | None = Field(default=None)
    skip_reason: str | None = Field(default=None, max_length=200)
    provider_error: str | None = Field(default=None, sa_type=Text)
    provider_response: str | None = Field(default=None, sa_type=Text)  # per-event answer (failed / requeued rows)
    created_at: dt.datetime = utc_field(nullable=False, default_now=True)


class Lease(SQLModel, table=True):
    """A named lease (scheduler leader, per-integration run lock) for multi-process deployments.

    The holder's process (machine, pid and its start time) lets another process on the same machine
    tell a dead holder from a live one without waiting for `expires_at` (services/leases.py).
    """

    name: str = Field(primary_key=True, max_length=100)
    holder: str = Field(max_length=200)
    expires_at: dt.datetime = utc_field(nullable=False)
    renewed_at: dt.datetime | None = utc_field()
    machine: str | None = Field(default=None, max_length=300)  # hostname | boot id | pid namespace
    pid: int | None = Field(default=None)
    pid_started: float | None = Field(default=None)  # the process's start time, epoch seconds


# --- Sign-in, roles and audit -------------------------------------------------------------------


class UserRole(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"


class User(SQLModel, table=True):
    """Someone who may sign in; email is stored normalised (trimmed, lowercase).

    `bootstrap_slot` is 1 on the first user only: its unique index makes two racing
    "create the first admin" requests end with exactly one admin.
    """

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=UserRole.VIEWER, max_length=16)
    disabled: bool = Field(default=False)
    bootstrap_slot: int | None = Field(default=None, unique=True)
    created_at: dt.datetime = utc_field(nullable=False, default_now=True)
    password_changed_at: dt.datetime | None = utc_field()
    last_sign_in_at: dt.datetime | None = utc_field()


class UserSession(SQLModel, table=True):
    """A server-side sign-in session; only the SHA-256 of the cookie's token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: dt.datetime = utc_field(nullable=False, default_now=True)
    expires_at: dt.datetime = utc_field(nullable=False)
    last_seen_at: dt.datetime = utc_field(nullable=False, default_now=True)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=500)
    revoked_at: dt.datetime | None = utc_field()


class LoginAttempt(SQLModel, table=True):
    """One sign-in attempt, kept a while so rate limits survive restarts and span workers."""

    __table_args__ = (
        Index("ix_loginattempt_email_at", "email", "at"),
        Index("ix_loginattempt_ip_at", "ip", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    ip: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=16)  # success | failure | blocked
    at: dt.datetime = utc_field(nullable=False, default_now=True)


class AuditEvent(SQLModel, table=True):
    """Who changed what and when; `detail` is plain text and never holds a secret.

    No foreign keys: the history outlives deleted integrations and users.
    """

    __table_args__ = (Index("ix_auditevent_integration_at", "integration_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = utc_field(nullable=False, default_now=True, index=True)
    user_id: int | None = Field(default=None)
    user_email: str = Field(default="", max_length=254)
    action: str = Field(max_length=48)
    integration_id: int | None = Field(default=None)
    traffic_source_id: int | None = Field(default=None)
    detail: str = Field(default="", sa_type=Text)


# --- Alerts: channels, rules, incidents and their delivery outbox (services/alerts) ---------------


class AlertChannel(SQLModel, table=True):
    """Where alerts go: email (SMTP), a Slack-compatible incoming webhook or a signed JSON webhook.

    `settings_json` holds what may be shown (host, port, addresses); `secrets_enc` (Fernet) holds the
    SMTP password, webhook URLs and the signing secret; `target` is a masked one-line description.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=16)  # email | slack | webhook
    enabled: bool = Field(default=True)
    settings_json: str = Field(default="{}", sa_type=Text)
    secrets_enc: str | None = Field(default=None, sa_type=Text)
    target: str = Field(default="", max_length=300)
    last_test_at: dt.datetime | None = utc_field()
    last_test_ok: bool | None = Field(default=None)
    last_test_message: str | None = Field(default=None, sa_type=Text)
    created_at: dt.datetime = utc_field(nullable=False, default_now=True)
    updated_at: dt.datetime = utc_field(nullable=False, default_now=True)


class AlertRule(SQLModel, table=True):
    """One alert kind's switch and thresholds for one traffic source; no row = the kind's defaults."""

    __table_args__ = (UniqueConstraint("traffic_source_id", "kind", name="uq_alertrule_source_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    traffic_source_id: int = Field(foreign_key="trafficsource.id")
    kind: str = Field(max_length=32)
    enabled: bool = Field(default=True)
    params_json: str = Field(default="{}", sa_type=Text)
    updated_at: dt.datetime = utc_field(nullable=False, default_now=True)


class Incident(SQLModel, table=True):
    """One problem from when it is first seen until it clears: alerts are sent per incident, not per check.

    `key` names the problem (kind + integration); at most one open incident per key (partial unique
    index), so two evaluators racing cannot open it twice. No foreign keys: the history outlives a
    disconnected integration.
    """

    __table_args__ = (
        Index(
            "uq_incident_open_key",
            "key",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_incident_integration", "integration_id", "first_seen_at"),
        Index("ix_incident_status_seen", "status", "last_seen_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=100)
    kind: str = Field(max_length=32)
    traffic_source_id: int | None = Field(default=None)
    integration_id: int | None = Field(default=None)
    status: str = Field(default="open", max_length=16)  # open | resolved
    title: str = Field(max_length=300)
    detail: str = Field(default="", sa_type=Text)
    first_seen_at: dt.datetime = utc_field(nullable=False, default_now=True)
    last_seen_at: dt.datetime = utc_field(nullable=False, default_now=True)
    last_notified_at: dt.datetime | None = utc_field()
    notices: int = Field(default=0)  # opened + reminders sent so far
    resolved_at: dt.datetime | None = utc_field()
    resolution: str = Field(default="", max_length=200)


class AlertDelivery(SQLModel, table=True):
    """The alert outbox: one row per incident notice x channel, sent by the alerts job with backoff.

    `payload_json` is the message as it was when the notice was due, so every retry sends the same
    text and event id. Like ConversionPush, `next_attempt_at` is set exactly while the row waits.
    """

    __table_args__ = (
        UniqueConstraint("incident_id", "channel_id", "event", "notice", name="uq_alertdelivery_once"),
        Index(
            "ix_alertdelivery_due",
            "status",
            "next_attempt_at",
            sqlite_where=text("next_attempt_at IS NOT NULL"),
            postgresql_where=text("next_attempt_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    channel_id: int = Field(foreign_key="alertchannel.id", index=True)
    event: str = Field(max_length=16)  # opened | reminder | resolved
    notice: int = Field(default=0)  # 0 = opened, n = the n-th daily reminder, -1 = resolved
    status: str = Field(default="pending", max_length=16)  # pending | sent | failed | cancelled
    attempts: int = Field(default=0)
    next_attempt_at: dt.datetime | None = utc_field()
    payload_json: str = Field(default="{}", sa_type=Text)
    last_error: str | None = Field(default=None, sa_type=Text)
    response: str | None = Field(default=None, sa_type=Text)
    created_at: dt.datetime = utc_field(nullable=False, default_now=True)
    sent_at: dt.datetime | None = utc_field()
