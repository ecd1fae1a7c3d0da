"""Push History: what was pushed, with the provider's answer and verdict, newest first; and Retry."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from routy_app.db import session_scope
from routy_app.errors import NotFound, Refused
from routy_app.models import Conversion, ConversionMapping, ConversionPush, PushRequest, saved_id
from routy_app.services.audit import SYSTEM, Actor, AuditAction, record_by
from routy_app.timeutil import utcnow


def retry_row(push_id: int, *, actor: Actor = SYSTEM) -> None:
    """The user's Retry on a failed row: back to pending now (the next run, within a minute, sends it)."""
    with session_scope() as session:
        row = session.get(ConversionPush, push_id)
        if row is None:
            raise NotFound("This push record no longer exists.")
        if row.status != "failed":
            raise Refused(f"Only failed pushes can be retried (this one is {row.status}).")
        row.status, row.next_attempt_at = "pending", utcnow()
        session.add(row)
        detail = f"1 failed push (conversion {row.conversion_id})"
        record_by(session, actor, AuditAction.PUSHES_RETRIED, integration_id=row.integration_id, detail=detail)
        session.commit()


@dataclass(frozen=True)
class PushRow:
    """A Push History row."""

    id: int
    time: str
    conversion_id: int
    external_id: str
    event_type: str
    action: str
    status: str
    attempts: int
    detail: str  # provider response, error or skip reason
    verdict: str
    next_attempt: str


def _sent_detail(push: ConversionPush, request: PushRequest | None) -> str:
    """A sent row's text: its request's answer (and verdict), else what the row itself holds."""
    if request is None:
        return push.provider_response or push.provider_error or ""
    return " | ".join(part for part in (request.response, request.verdict_detail) if part)


def _failed_detail(push: ConversionPush) -> str:
    """A failed row's text: the reason, then the request and answer behind it when kept (the Webhook's)."""
    reason, answer = push.provider_error or "", push.provider_response or ""
    return f"{reason}\n{answer[:2048]}" if answer and answer not in reason else reason


def push_history(
    session: Session,
    integration_id: int,
    status_filter: str | None = None,
    page: int = 1,
    page_size: int = 50,
    reason: str | None = None,
) -> tuple[list[PushRow], int]:
    """Newest first, paginated in SQL; `status_filter` is one of pending|sent|failed|skipped or None;
    `reason` keeps the rows whose last provider error is exactly that (push_retry.failure_reasons)."""
    page, page_size = max(1, page), max(1, min(page_size, 500))
    where = [ConversionPush.integration_id == integration_id]
    if status_filter and status_filter != "all":
        where.append(ConversionPush.status == status_filter)
    if reason:
        where.append(ConversionPush.provider_error == reason)
    total = int(session.exec(select(func.count()).select_from(ConversionPush).where(*where)).one())
    rows = session.exec(
        select(ConversionPush, Conversion, ConversionMapping, PushRequest)
        .join(Conversion, col(Conversion.id) == col(ConversionPush.conversion_id))
        .join(ConversionMapping, col(ConversionMapping.id) == col(ConversionPush.mapping_id))
        .outerjoin(PushRequest, col(PushRequest.id) == col(ConversionPush.push_request_id))
        .where(*where)
        .order_by(
            func.coalesce(col(ConversionPush.sent_at), col(ConversionPush.created_at)).desc(),
            col(ConversionPush.id).desc(),
        )
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    out = []
    for push, conv, mapping, request in rows:
        when = push.sent_at or push.created_at
        detail = (
            _failed_detail(push)
            if push.status == "failed"
            else push.skip_reason
            if push.status == "skipped"
            else _sent_detail(push, request)
        )
        extra = json.loads(mapping.extra_json or "{}")
        action = mapping.action_name or mapping.action_id
        if extra.get("event_name"):
            action = f"{extra['event_name']} on {action}"
        out.append(
            PushRow(
                id=saved_id(push),
                time=when.strftime("%Y-%m-%d %H:%M:%S UTC"),
                conversion_id=saved_id(conv),
                external_id=conv.external_id,
                event_type=conv.event_type,
                action=action,
                status=push.status,
                attempts=push.attempts,
                detail=detail or "",
                verdict=(request.verdict if request else None) or "",
                next_attempt=push.next_attempt_at.strftime("%Y-%m-%d %H:%M UTC")
                if push.next_attempt_at and push.status in ("pending", "failed")
                else "",
            )
        )
    return out, total
