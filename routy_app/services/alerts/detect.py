"""Which problems exist right now, read from the database: the evaluator's eyes.

Each detector looks at one alert kind across every integration and returns `Finding`s, one per
problem, keyed `<kind>:<integration id>` so the same problem found again is the same incident. A
detector only reads; `incidents.reconcile` decides what opens, repeats and resolves. `now` is given
(tests control the clock); nothing here sleeps, sends or writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from routy_app.models import (
    AuditEvent,
    ConversionPush,
    Direction,
    Integration,
    IntegrationStatus,
    SyncRun,
    TrafficSource,
    saved_id,
)
from routy_app.providers import registry, versions
from routy_app.services.alerts import kinds
from routy_app.services.alerts.rules import Rule

ACTIVE = (IntegrationStatus.ACTIVE, IntegrationStatus.NEEDS_ATTENTION)
PULLS = (Direction.PULL, Direction.BIDIRECTIONAL)
PUSHES = (Direction.PUSH, Direction.BIDIRECTIONAL)
# A pull is judged overdue from the latest of: its last success, the connection, a resume or reconnect.
_RESTARTS = ("resumed", "reconnected", "account_selected")
# What to do before access ends, per provider (the rest of the alert is generic).


@dataclass(frozen=True)
class Finding:
    kind: str
    key: str
    source_id: int
    integration_id: int | None
    title: str
    detail: str


@dataclass(frozen=True)
class Context:
    """What the detectors need besides the database: the time, each source's rules, configured versions."""

    now: dt.datetime
    rules: Callable[[int], dict[str, Rule]]
    versions: dict[str, str]  # provider key -> its configured API version


def key(kind: str, integration_id: int) -> str:
    return f"{kind}:{integration_id}"


def _name(provider: str) -> str:
    return registry.display_name(provider)


def _date(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


class _Scope:
    """The integrations and source names one evaluation looks at (read once, shared by every detector)."""

    def __init__(self, session: Session, ctx: Context) -> None:
        self.session, self.ctx = session, ctx
        self.integrations = list(session.exec(select(Integration).order_by(col(Integration.id))).all())
        self.sources = {saved_id(s): s.name for s in session.exec(select(TrafficSource)).all()}

    def enabled(self, integration: Integration, kind: str) -> Rule | None:
        rule = self.ctx.rules(integration.traffic_source_id)[kind]
        return rule if rule.enabled else None

    def finding(self, kind: str, integration: Integration, title: str, detail: str) -> Finding:
        source = self.sources.get(integration.traffic_source_id, f"source {integration.traffic_source_id}")
        return Finding(
            kind,
            key(kind, saved_id(integration)),
            integration.traffic_source_id,
            saved_id(integration),
            f"{title} · {source}",
            detail,
        )


def integration_error(scope: _Scope) -> list[Finding]:
    found = []
    for i in scope.integrations:
        if i.status not in (
            IntegrationStatus.NEEDS_ATTENTION,
            IntegrationStatus.RECONNECT_REQUIRED,
        ) or not scope.enabled(i, kinds.INTEGRATION_ERROR):
            continue
        name = _name(i.provider)
        if i.status == IntegrationStatus.RECONNECT_REQUIRED:
            title = f"{name} needs reconnection"
            why = (i.last_error or "expired or revoked").rstrip(".")
            detail = (
                f"{name} refused Routy's authorisation ({why}). Nothing syncs "
                "or pushes until someone reconnects it: Settings → Connection → Reconnect. Queued conversions "
                "wait and are sent after."
            )
        else:
            title = f"{name} needs attention"
            detail = (
                f"{i.consecutive_failures} syncs in a row failed. Last error: "
                f"{(i.last_error or 'unknown').rstrip('.')}. "
                "Routy keeps retrying on schedule; Sync History has each run's error."
            )
        found.append(scope.finding(kinds.INTEGRATION_ERROR, i, title, detail))
    return found


def push_rejections(scope: _Scope) -> list[Finding]:
    since = scope.ctx.now - dt.timedelta(hours=1)
    found = []
    for i in scope.integrations:
        rule = scope.enabled(i, kinds.PUSH_REJECTIONS)
        if rule is None or i.direction not in PUSHES:
            continue
        sent, failed = scope.session.exec(
            select(
                func.coalesce(func.sum(SyncRun.records_inserted), 0), func.coalesce(func.sum(SyncRun.records_failed), 0)
            ).where(SyncRun.integration_id == i.id, SyncRun.kind == "push", SyncRun.started_at >= since)
        ).one()
        total = int(sent) + int(failed)
        percent = 100.0 * int(failed) / total if total else 0.0
        over_count = failed > rule.params["count"]
        over_share = total >= kinds.PUSH_REJECTIONS_MIN_EVENTS and percent > rule.params["percent"]
        if not (over_count or over_share):
            continue
        name = _name(i.provider)
        found.append(
            scope.finding(
                kinds.PUSH_REJECTIONS,
                i,
                f"{name} rejected {failed:,} of {total:,} conversions in the last hour",
                f"{percent:.1f} % of the conversions pushed in the last hour were rejected (alert: more than "
                f"{rule.params['percent']} % or more than {rule.params['count']:,} events). Push History shows each "
                "rejection with the provider's reason; fix the cause, then Retry the failed rows.",
            )
        )
    return found


def outbox_lag(scope: _Scope) -> list[Finding]:
    found = []
    for i in scope.integrations:
        rule = scope.enabled(i, kinds.OUTBOX_LAG)
        if rule is None or i.status not in ACTIVE or i.direction not in PUSHES:
            continue
        oldest = None
        for status in ("pending", "failed"):  # one index seek each (ix_push_due)
            due = scope.session.exec(
                select(func.min(ConversionPush.next_attempt_at)).where(
                    ConversionPush.integration_id == i.id,
                    ConversionPush.status == status,
                    col(ConversionPush.next_attempt_at).is_not(None),
                )
            ).one()
            if due is not None and (oldest is None or due < oldest):
                oldest = due
        if oldest is None:
            continue
        waited = scope.ctx.now - oldest
        if waited <= dt.timedelta(minutes=rule.params["minutes"]):
            continue
        name = _name(i.provider)
        found.append(
            scope.finding(
                kinds.OUTBOX_LAG,
                i,
                f"Conversions for {name} are waiting to be pushed",
                f"The oldest conversion due for {name} has waited since {_date(oldest)} (over {rule.params['minutes']} "
                "minutes). Push History shows why rows are failing or retrying; Sync Now on the Push tab sends them.",
            )
        )
    return found


def access_expiring(scope: _Scope) -> list[Finding]:
    found = []
    for i in scope.integrations:
        rule = scope.enabled(i, kinds.ACCESS_EXPIRING)
        ends = i.access_expires_at
        if rule is None or ends is None or i.status not in (*ACTIVE, IntegrationStatus.PAUSED):
            continue
        left = ends - scope.ctx.now
        if left > dt.timedelta(days=rule.params["days"]):
            continue
        name = _name(i.provider)
        days = left.days
        when = (
            "has ended"
            if left.total_seconds() <= 0
            else "ends within a day"
            if days == 0
            else f"ends in {days} day{'s' if days != 1 else ''}"
        )
        definition = registry.find(i.provider)
        advice = (definition.access_advice if definition else "") or "Reconnect it before then (Settings → Connection)."
        found.append(
            scope.finding(
                kinds.ACCESS_EXPIRING,
                i,
                f"{name} access {when}",
                f"Routy's access to {name} ends on {_date(ends)}. {advice}",
            )
        )
    return found


def api_sunset(scope: _Scope) -> list[Finding]:
    configured = {
        d.key: (d.api_versions, scope.ctx.versions[d.key])
        for d in registry.all_definitions()
        if d.api_versions is not None and d.key in scope.ctx.versions
    }
    today = scope.ctx.now.date()
    found = []
    for i in scope.integrations:
        rule = scope.enabled(i, kinds.API_SUNSET)
        if rule is None or i.provider not in configured or i.status == IntegrationStatus.PENDING_ACCOUNT:
            continue
        table, version = configured[i.provider]
        known = table.find(version)
        if known is None or known.sunset is None:
            continue  # unknown versions are a start-up warning, not a sunset
        status = versions.assess(table, version, today, warning_days=rule.params["days"])
        if status.level == "ok":
            continue
        found.append(
            scope.finding(
                kinds.API_SUNSET,
                i,
                f"{table.api} {version} sunsets {status.sunset}",
                f"{status.message} Every {_name(i.provider)} call fails after the sunset.",
            )
        )
    return found


def sync_stale(scope: _Scope) -> list[Finding]:
    found = []
    for i in scope.integrations:
        rule = scope.enabled(i, kinds.SYNC_STALE)
        if rule is None or i.status not in ACTIVE or i.direction not in PULLS or not i.account_id:
            continue
        limit = dt.timedelta(minutes=max(1, i.schedule_minutes) * rule.params["factor"])
        last_success = scope.session.exec(
            select(func.max(SyncRun.finished_at)).where(
                SyncRun.integration_id == i.id, SyncRun.kind == "pull", SyncRun.status == "success"
            )
        ).one()
        restarted = scope.session.exec(
            select(func.max(col(AuditEvent.at))).where(
                col(AuditEvent.integration_id) == i.id, col(AuditEvent.action).in_(_RESTARTS)
            )
        ).one()
        since = max(t for t in (last_success, restarted, i.created_at) if t is not None)
        if scope.ctx.now - since <= limit:
            continue
        hours = (scope.ctx.now - since).total_seconds() / 3600
        name = _name(i.provider)
        last = _date(last_success) if last_success else "never"
        found.append(
            scope.finding(
                kinds.SYNC_STALE,
                i,
                f"{name} metrics not pulled for {hours:.0f} h",
                f"No successful pull for {rule.params['factor']}× the {i.schedule_minutes}-minute schedule (last "
                f"success: {last}; last error: {i.last_error or 'none'}). Sync History shows each run.",
            )
        )
    return found


DETECTORS: dict[str, Callable[[_Scope], list[Finding]]] = {
    kinds.INTEGRATION_ERROR: integration_error,
    kinds.PUSH_REJECTIONS: push_rejections,
    kinds.OUTBOX_LAG: outbox_lag,
    kinds.ACCESS_EXPIRING: access_expiring,
    kinds.API_SUNSET: api_sunset,
    kinds.SYNC_STALE: sync_stale,
}


def detect(session: Session, ctx: Context) -> tuple[dict[str, list[Finding]], dict[str, str]]:
    """(kind -> findings for every kind that could be checked, kind -> error for those that could not).

    A detector that fails leaves its kind out of the first dict, so its open incidents are neither
    resolved nor repeated on a guess.
    """
    scope = _Scope(session, ctx)
    found: dict[str, list[Finding]] = {}
    failed: dict[str, str] = {}
    for kind, detector in DETECTORS.items():
        try:
            found[kind] = detector(scope)
        except Exception as exc:  # noqa: BLE001 - one broken check must not stop the others
            session.rollback()
            failed[kind] = f"{type(exc).__name__}: {exc}"
    return found, failed
