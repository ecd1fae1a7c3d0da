"""Incidents: what the detectors find becomes one row per problem, and notices go to the outbox.

Rules (the issue's "one alert per incident"):
- A problem found with no open incident of its key opens one and queues an "opened" notice for every
  enabled channel.
- Found again while open: the row's last-seen time (and wording) are updated; a "reminder" notice is
  queued when the last notice is at least a day old.
- An open incident whose problem is no longer found is resolved, and a "resolved" notice goes to the
  channels that were told about it. Turning the alert off closes it silently; a detector that failed
  leaves its incidents as they are.
Each incident is written with its notices in one transaction; the partial unique index on open keys
makes a second evaluator racing on the same problem fail its insert instead of opening a twin.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from routy_app.models import AlertChannel, AlertDelivery, Incident, Integration, TrafficSource, saved_id
from routy_app.providers import registry
from routy_app.services.alerts import kinds, messages
from routy_app.services.alerts.detect import Finding
from routy_app.services.alerts.rules import Rule
from routy_app.services.catalog import STATUS_DISPLAY

log = logging.getLogger("routy.alerts")

REMIND_EVERY = dt.timedelta(hours=24)
OPEN, RESOLVED = "open", "resolved"
TURNED_OFF = "The alert was turned off for this traffic source."
CLEARED = {
    kinds.PUSH_REJECTIONS: "Rejections in the last hour are back under the threshold.",
    kinds.OUTBOX_LAG: "The queue is moving again: no due conversion has waited longer than the threshold.",
    kinds.ACCESS_EXPIRING: "Access was renewed: it no longer ends within the alert's window.",
    kinds.API_SUNSET: "The configured API version is no longer near its sunset.",
    kinds.SYNC_STALE: "A pull succeeded.",
}


@dataclass
class Summary:
    opened: int = 0
    reminded: int = 0
    resolved: int = 0
    notices: int = 0  # delivery rows queued


def _provider_name(key: str) -> str:
    return registry.display_name(key)


def _integration_info(integration: Integration | None) -> dict[str, Any] | None:
    if integration is None:
        return None
    return {
        "id": integration.id,
        "provider": integration.provider,
        "provider_name": _provider_name(integration.provider),
        "account_id": integration.account_id or "",
        "account_name": integration.account_name or "",
    }


class _Notifier:
    """Queues notices (one AlertDelivery per channel) inside the caller's transaction."""

    def __init__(self, session: Session, now: dt.datetime, public_url: str) -> None:
        self.session, self.now, self.public_url = session, now, public_url
        self.channels = [
            saved_id(c)
            for c in session.exec(
                select(AlertChannel).where(col(AlertChannel.enabled).is_(True)).order_by(col(AlertChannel.id))
            ).all()
        ]

    def queue(self, incident: Incident, event: str, notice: int, channel_ids: Iterable[int] | None = None) -> int:
        source = self.session.get(TrafficSource, incident.traffic_source_id) if incident.traffic_source_id else None
        integration = self.session.get(Integration, incident.integration_id) if incident.integration_id else None
        payload = messages.incident_payload(
            incident,
            event=event,
            notice=notice,
            now=self.now,
            public_url=self.public_url,
            source_name=source.name if source else "",
            integration=_integration_info(integration),
        )
        body = json.dumps(payload)
        targets = self.channels if channel_ids is None else [c for c in self.channels if c in set(channel_ids)]
        for channel_id in targets:
            self.session.add(
                AlertDelivery(
                    incident_id=saved_id(incident),
                    channel_id=channel_id,
                    event=event,
                    notice=notice,
                    payload_json=body,
                    next_attempt_at=self.now,
                    created_at=self.now,
                )
            )
        return len(targets)


def reconcile(
    session: Session,
    found: dict[str, list[Finding]],
    *,
    now: dt.datetime,
    public_url: str,
    rules: Callable[[int], dict[str, Rule]],
) -> Summary:
    """Open, repeat and resolve incidents to match `found` (kind -> findings, for the kinds checked)."""
    summary = Summary()
    notifier = _Notifier(session, now, public_url)
    open_rows = {row.key: row for row in session.exec(select(Incident).where(Incident.status == OPEN)).all()}
    for kind_findings in found.values():
        for finding in kind_findings:
            row = open_rows.pop(finding.key, None)
            try:
                if row is None:
                    _open(session, notifier, finding, now, summary)
                else:
                    _seen_again(session, notifier, row, finding, now, summary)
            except IntegrityError:  # another evaluator opened or repeated it first
                session.rollback()
                log.info("incident %s was written by another evaluator", finding.key)
    for row in open_rows.values():
        if row.kind not in found:
            continue  # its detector failed (or the kind is gone): leave it as it is
        _resolve(session, notifier, row, now, rules, summary)
    return summary


def _open(session: Session, notifier: _Notifier, finding: Finding, now: dt.datetime, summary: Summary) -> None:
    row = Incident(
        key=finding.key,
        kind=finding.kind,
        traffic_source_id=finding.source_id,
        integration_id=finding.integration_id,
        status=OPEN,
        title=finding.title[:300],
        detail=finding.detail,
        first_seen_at=now,
        last_seen_at=now,
        last_notified_at=now,
        notices=1,
    )
    session.add(row)
    session.flush()
    summary.notices += notifier.queue(row, messages.OPENED, 0)
    session.commit()
    summary.opened += 1
    log.info("incident %s opened: %s", row.id, row.title)


def _seen_again(
    session: Session, notifier: _Notifier, row: Incident, finding: Finding, now: dt.datetime, summary: Summary
) -> None:
    row.last_seen_at = now
    row.title, row.detail = finding.title[:300], finding.detail
    if row.last_notified_at is None or now - row.last_notified_at >= REMIND_EVERY:
        row.notices += 1
        row.last_notified_at = now
        summary.notices += notifier.queue(row, messages.REMINDER, row.notices - 1)
        summary.reminded += 1
    session.add(row)
    session.commit()


def _resolve(
    session: Session,
    notifier: _Notifier,
    row: Incident,
    now: dt.datetime,
    rules: Callable[[int], dict[str, Rule]],
    summary: Summary,
) -> None:
    integration = session.get(Integration, row.integration_id) if row.integration_id else None
    rule = rules(row.traffic_source_id)[row.kind] if row.traffic_source_id is not None else None
    silent = rule is not None and not rule.enabled
    if silent:
        reason = TURNED_OFF
    elif row.integration_id and integration is None:
        reason = "The integration was disconnected."
    elif row.kind == kinds.INTEGRATION_ERROR and integration is not None:
        display = STATUS_DISPLAY.get(integration.status)
        label = display.label if display is not None else integration.status
        reason = f"{_provider_name(integration.provider)} is {label} again."
    else:
        reason = CLEARED.get(row.kind, "The check no longer finds the problem.")
    row.status, row.resolved_at, row.resolution = RESOLVED, now, reason[:200]
    session.add(row)
    if not silent:
        told = session.exec(
            select(AlertDelivery.channel_id).where(AlertDelivery.incident_id == row.id).distinct()
        ).all()
        summary.notices += notifier.queue(row, messages.RESOLVED, -1, told)
    session.commit()
    summary.resolved += 1
    log.info("incident %s resolved: %s", row.id, reason)
