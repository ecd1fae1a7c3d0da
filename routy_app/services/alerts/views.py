"""Display rows for the Notifications page and the Connection tab: plain strings, never a secret."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from routy_app import routes
from routy_app.models import AlertChannel, AlertDelivery, Incident, TrafficSource, saved_id
from routy_app.services.alerts import channels, kinds
from routy_app.services.alerts.rules import Rule, field_name

STATUS_COLORS = {"open": "red", "resolved": "gray"}
DELIVERY_COLORS = {"pending": "amber", "sent": "green", "failed": "red", "cancelled": "gray"}


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


@dataclass(frozen=True)
class ChannelRow:
    id: int
    name: str
    kind: str
    kind_label: str
    enabled: bool
    target: str
    tested: str  # "" = never tested
    test_ok: bool
    test_message: str


@dataclass(frozen=True)
class ChannelForm:
    """What the edit form starts with: the non-secret settings and whether each secret is stored."""

    id: int = 0
    kind: str = channels.EMAIL
    name: str = ""
    host: str = ""
    port: str = "587"
    security: str = "starttls"
    username: str = ""
    from_addr: str = ""
    to_addrs: str = ""
    has_password: bool = False
    has_url: bool = False
    has_signing_secret: bool = False


@dataclass(frozen=True)
class IncidentRow:
    id: int
    kind_label: str
    title: str
    detail: str
    status: str
    color: str
    source: str
    source_href: str
    first_seen: str
    last_seen: str
    last_notified: str
    resolved: str
    resolution: str


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    created: str
    channel: str
    incident: str
    event: str
    status: str
    color: str
    attempts: int
    error: str
    next_attempt: str


@dataclass(frozen=True)
class ParamRow:
    field: str
    label: str
    unit: str
    value: str
    minimum: int
    maximum: int


@dataclass(frozen=True)
class RuleRow:
    kind: str
    label: str
    description: str
    enabled: bool
    params: list[ParamRow] = field(default_factory=list)


def channel_rows(session: Session) -> list[ChannelRow]:
    return [
        ChannelRow(
            id=saved_id(c),
            name=c.name,
            kind=c.kind,
            kind_label=channels.KIND_LABELS.get(c.kind, c.kind),
            enabled=c.enabled,
            target=c.target,
            tested=_when(c.last_test_at),
            test_ok=bool(c.last_test_ok),
            test_message=c.last_test_message or "",
        )
        for c in channels.list_channels(session)
    ]


def channel_form(session: Session, channel_id: int) -> ChannelForm:
    channel = channels.get_channel(session, channel_id)
    settings = channels.settings_of(channel)
    secrets = channels.config_of(channel).secrets
    return ChannelForm(
        id=channel_id,
        kind=channel.kind,
        name=channel.name,
        host=settings.get("host", ""),
        port=str(settings.get("port", "587")),
        security=settings.get("security", "starttls"),
        username=settings.get("username", ""),
        from_addr=settings.get("from_addr", ""),
        to_addrs=settings.get("to_addrs", ""),
        has_password=bool(secrets.get("password")),
        has_url=bool(secrets.get("url")),
        has_signing_secret=bool(secrets.get("signing_secret")),
    )


def incident_rows(
    session: Session, *, open_only: bool = False, integration_id: int | None = None, limit: int = 100
) -> list[IncidentRow]:
    """Open incidents first, then the most recently seen."""
    stmt = select(Incident)
    if open_only:
        stmt = stmt.where(Incident.status == "open")
    if integration_id is not None:
        stmt = stmt.where(Incident.integration_id == integration_id)
    stmt = stmt.order_by(
        (col(Incident.status) == "open").desc(), col(Incident.last_seen_at).desc(), col(Incident.id).desc()
    ).limit(limit)
    rows = session.exec(stmt).all()
    names = {saved_id(s): s.name for s in session.exec(select(TrafficSource)).all()}
    return [
        IncidentRow(
            id=saved_id(r),
            kind_label=kinds.BY_KEY[r.kind].label if r.kind in kinds.BY_KEY else r.kind,
            title=r.title,
            detail=r.detail,
            status=r.status,
            color=STATUS_COLORS.get(r.status, "gray"),
            source=names.get(r.traffic_source_id or 0, ""),
            source_href=routes.source(r.traffic_source_id),
            first_seen=_when(r.first_seen_at),
            last_seen=_when(r.last_seen_at),
            last_notified=_when(r.last_notified_at),
            resolved=_when(r.resolved_at),
            resolution=r.resolution,
        )
        for r in rows
    ]


def open_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Incident).where(Incident.status == "open")).one())


def delivery_problems(session: Session, limit: int = 50) -> list[DeliveryRow]:
    """Notices that failed for good or are being retried, newest first."""
    stmt = (
        select(AlertDelivery, AlertChannel.name, Incident.title)
        .join(AlertChannel, col(AlertChannel.id) == col(AlertDelivery.channel_id))
        .join(Incident, col(Incident.id) == col(AlertDelivery.incident_id))
        .where(
            or_(
                col(AlertDelivery.status) == "failed",
                (col(AlertDelivery.status) == "pending") & (col(AlertDelivery.attempts) > 0),
            )
        )
        .order_by(col(AlertDelivery.created_at).desc(), col(AlertDelivery.id).desc())
        .limit(limit)
    )
    return [
        DeliveryRow(
            id=saved_id(d),
            created=_when(d.created_at),
            channel=name,
            incident=title,
            event=d.event,
            status="retrying" if d.status == "pending" else d.status,
            color=DELIVERY_COLORS.get(d.status, "gray"),
            attempts=d.attempts,
            error=d.last_error or "",
            next_attempt=_when(d.next_attempt_at) if d.status == "pending" else "",
        )
        for d, name, title in session.exec(stmt).all()
    ]


def rule_rows(rules: dict[str, Rule]) -> list[RuleRow]:
    return [
        RuleRow(
            kind=k.key,
            label=k.label,
            description=k.description,
            enabled=rules[k.key].enabled,
            params=[
                ParamRow(
                    field=field_name(k.key, p.name),
                    label=p.label,
                    unit=p.unit,
                    value=str(rules[k.key].params[p.name]),
                    minimum=p.minimum,
                    maximum=p.maximum,
                )
                for p in k.params
            ],
        )
        for k in kinds.KINDS
    ]
