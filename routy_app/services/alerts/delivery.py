"""The alert outbox: send due notices, record each outcome, retry with backoff, give up visibly.

A row is claimed before it is sent: one UPDATE moves its `next_attempt_at` a lease ahead and counts the
attempt, and only the caller whose UPDATE changed the row sends it. Two evaluators (a leader handing
over) therefore never send the same notice at once, and a process that dies mid-send leaves the row
due again once the lease passes (at-least-once; receivers deduplicate on the payload's `id`).
Outcomes: delivered -> sent; temporary failure -> due again after exponential backoff (1 min doubling,
at most 1 h, the receiver's Retry-After honoured); permanent failure or MAX_ATTEMPTS -> failed, shown on
the Notifications page with the reason until an admin retries it. Never blocks a sync: it runs in the
alerts job, apart from pull and push.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from routy_app.db import session_scope
from routy_app.models import AlertChannel, AlertDelivery, key_of
from routy_app.outbound import backoff
from routy_app.services.alerts import channels, transports
from routy_app.services.alerts.transports import SendOutcome, Transport

log = logging.getLogger("routy.alerts")

MAX_ATTEMPTS = 8  # about 2 h of retries (1 + 2 + 4 + ... capped at 60 min)
LEASE = dt.timedelta(minutes=5)
BATCH = 50
FIRST_RETRY = 60.0
RETRY_CAP = 3600.0


@dataclass
class DeliverySummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0


class DeliveryProblem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _claim(session: Session, delivery_id: int, now: dt.datetime) -> bool:
    claimed = session.exec(
        update(AlertDelivery)
        .where(
            col(AlertDelivery.id) == delivery_id,
            col(AlertDelivery.status) == "pending",
            col(AlertDelivery.next_attempt_at) <= now,
        )
        .values(next_attempt_at=now + LEASE, attempts=AlertDelivery.attempts + 1)
    ).rowcount
    session.commit()
    return claimed == 1


def _due_ids(now: dt.datetime, limit: int) -> list[int]:
    with session_scope() as session:
        return [
            key_of(i)
            for i in session.exec(
                select(AlertDelivery.id)
                .where(col(AlertDelivery.status) == "pending", col(AlertDelivery.next_attempt_at) <= now)
                .order_by(col(AlertDelivery.next_attempt_at), col(AlertDelivery.id))
                .limit(limit)
            ).all()
        ]


async def deliver_due(
    transport: Transport, public_url: str, *, now: dt.datetime | None = None, limit: int = BATCH
) -> DeliverySummary:
    """Send every notice due at `now` (up to `limit`); returns what became of them."""
    now = now or transport.now()
    summary = DeliverySummary()
    for delivery_id in _due_ids(now, limit):
        with session_scope() as session:
            if not _claim(session, delivery_id, now):
                continue
            row = session.get(AlertDelivery, delivery_id)
            channel = session.get(AlertChannel, row.channel_id) if row else None
            if row is None:
                continue
            if channel is None or not channel.enabled:
                _finish(session, row, "cancelled", None, "The channel was disabled before this notice was sent.")
                summary.cancelled += 1
                continue
            config = channels.config_of(channel)
            payload = json.loads(row.payload_json)
            attempts = row.attempts
        outcome = await _send(transport, config, payload, public_url)
        with session_scope() as session:
            row = session.get(AlertDelivery, delivery_id)
            if row is None:  # the channel was deleted meanwhile
                continue
            _record(session, row, outcome, attempts, now, summary)
            log.info(
                "alert notice %s via channel %s (%s): %s",
                delivery_id,
                config.id,
                config.kind,
                "sent" if outcome.ok else outcome.message,
            )
    return summary


async def _send(
    transport: Transport, config: channels.ChannelConfig, payload: dict[str, Any], public_url: str
) -> SendOutcome:
    try:
        return await transports.send(transport, config, payload, public_url)
    except Exception as exc:
        log.exception("sending alert notice over channel %s crashed", config.id)
        return SendOutcome(False, True, f"Internal error while sending: {type(exc).__name__}.")


def _record(
    session: Session,
    row: AlertDelivery,
    outcome: SendOutcome,
    attempts: int,
    now: dt.datetime,
    summary: DeliverySummary,
) -> None:
    row.response = outcome.response[:2048] or None
    if outcome.ok:
        row.sent_at = now
        _finish(session, row, "sent", None, None)
        summary.sent += 1
        return
    if outcome.retryable and attempts < MAX_ATTEMPTS:
        wait = backoff.delay(attempts, first=FIRST_RETRY, cap=RETRY_CAP, retry_after=outcome.retry_after)
        _finish(
            session,
            row,
            "pending",
            now + dt.timedelta(seconds=wait),
            f"{outcome.message} (attempt {attempts} of {MAX_ATTEMPTS})",
        )
        summary.retrying += 1
        return
    why = outcome.message if not outcome.retryable else f"{outcome.message} Gave up after {attempts} attempts."
    _finish(session, row, "failed", None, why)
    summary.failed += 1


def _finish(session: Session, row: AlertDelivery, status: str, next_at: dt.datetime | None, error: str | None) -> None:
    row.status, row.next_attempt_at, row.last_error = status, next_at, error
    session.add(row)
    session.commit()


def retry(session: Session, delivery_id: int, now: dt.datetime) -> AlertDelivery:
    """An admin's Retry on a failed notice: due now, with a fresh set of attempts."""
    row = session.get(AlertDelivery, delivery_id)
    if row is None:
        raise DeliveryProblem("This notice no longer exists.")
    if row.status != "failed":
        raise DeliveryProblem("Only failed notices can be retried.")
    row.status, row.attempts, row.next_attempt_at = "pending", 0, now
    session.add(row)
    session.commit()
    return row
