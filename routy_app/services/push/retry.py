"""Retry all failed pushes at once (Push History), optionally only those that failed for one reason.

After a batch failure hundreds of rows fail together; retrying them one click at a time is not a tool.
Requeued rows are due at once: the next push run (the scheduler's, within a minute, or Push now) sends
them with the same dedup keys as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, update
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select

from routy_app.db import session_scope
from routy_app.models import ConversionPush
from routy_app.services.audit import SYSTEM, Actor, AuditAction, record_by
from routy_app.timeutil import utcnow

REASONS_LISTED = 20


@dataclass(frozen=True)
class FailureReason:
    reason: str  # the provider's error as stored on the rows
    count: int


def _failed(integration_id: int, reason: str | None) -> list[ColumnElement[bool]]:
    where = [col(ConversionPush.integration_id) == integration_id, col(ConversionPush.status) == "failed"]
    if reason:
        where.append(col(ConversionPush.provider_error) == reason)
    return where


def failure_reasons(session: Session, integration_id: int) -> list[FailureReason]:
    """The distinct reasons of the integration's failed rows, most frequent first."""
    rows = session.exec(
        select(ConversionPush.provider_error, func.count())
        .where(*_failed(integration_id, None))
        .group_by(ConversionPush.provider_error)
        .order_by(func.count().desc())
        .limit(REASONS_LISTED)
    ).all()
    return [FailureReason(reason or "", int(count)) for reason, count in rows]


def count_failed(session: Session, integration_id: int, reason: str | None = None) -> int:
    return int(
        session.exec(select(func.count()).select_from(ConversionPush).where(*_failed(integration_id, reason))).one()
    )


def retry_failed(integration_id: int, reason: str | None = None, *, actor: Actor = SYSTEM) -> int:
    """Queue every failed row of the integration (of `reason` only, when given) again, due now; returns
    how many (audited when some). Attempts and the last error stay until the row's next outcome."""
    with session_scope() as session:
        requeued = int(
            session.exec(
                update(ConversionPush)
                .where(*_failed(integration_id, reason))
                .values(status="pending", next_attempt_at=utcnow())
            ).rowcount
            or 0
        )
        if requeued:
            detail = f"{requeued} failed push{'es' if requeued != 1 else ''}" + (f" ({reason[:120]})" if reason else "")
            record_by(session, actor, AuditAction.PUSHES_RETRIED, integration_id=integration_id, detail=detail)
        session.commit()
    return requeued
