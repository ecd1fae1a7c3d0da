"""Asynchronous processing verdicts: providers that decide later (Google Data Manager) are asked per sent
request whose check is due; the verdict is written once per request, whatever the number of its events."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import update
from sqlmodel import col, select

from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus, PushRequest
from routy_app.providers import registry
from routy_app.providers.definition import Capability
from routy_app.providers.errors import AuthExpired, ProviderError
from routy_app.providers.protocols import VerdictSource, ability
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations.access import ConnectionProblem, provider_session
from routy_app.services.push.due import RUNNABLE
from routy_app.timeutil import utcnow

log = logging.getLogger("routy.push")

VERDICT_EVERY = dt.timedelta(minutes=1)
VERDICT_MAX = dt.timedelta(hours=24)  # no verdict after this: recorded as unknown


async def poll_verdicts(hub: ProviderHub, integration_id: int, every: dt.timedelta = VERDICT_EVERY) -> int:
    """Ask the provider for the verdicts of sent requests that are due a check; returns requests settled."""
    now = utcnow()
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None or integration.status not in (*RUNNABLE, IntegrationStatus.PAUSED):
            return 0
        provider_key = integration.provider
        # ids are never NULL, and the WHERE keeps only rows with a request_id
        due = cast(
            Sequence[tuple[int, str, dt.datetime]],
            session.exec(
                select(col(PushRequest.id), col(PushRequest.request_id), col(PushRequest.sent_at)).where(
                    col(PushRequest.integration_id) == integration_id,
                    col(PushRequest.next_check_at) <= now,
                    col(PushRequest.request_id).is_not(None),
                )
            ).all(),
        )
    if not due or not registry.get(provider_key).can(Capability.VERDICTS):
        return 0
    settled = 0
    try:
        async with provider_session(hub, integration_id) as (provider, creds, _):
            source = ability(provider, VerdictSource)
            for request_pk, request_id, sent_at in due:
                try:
                    verdict = await source.check_verdict(creds, request_id)
                except AuthExpired:
                    raise  # the door marks the integration
                except ProviderError as exc:
                    log.warning("verdict check %s failed: %s", request_id, exc.message)
                    continue
                if not verdict.done:
                    if now - sent_at > VERDICT_MAX:
                        set_verdict(request_pk, "unknown", "Verdict: none after 24 hours.", None)
                        settled += 1
                    else:
                        set_verdict(request_pk, "processing", None, now + every)
                    continue
                short, full = source.describe_verdict(verdict)
                set_verdict(request_pk, short, full, None)
                settled += 1
    except (AuthExpired, ConnectionProblem):
        return settled
    return settled


def set_verdict(request_pk: int, short: str, full: str | None, next_check: dt.datetime | None) -> None:
    """One write per request, whatever the number of events it carried."""
    with session_scope() as session:
        values: dict[str, Any] = {"verdict": short, "next_check_at": next_check}
        if full:
            values["verdict_detail"] = full
        session.exec(update(PushRequest).where(col(PushRequest.id) == request_pk).values(**values))
        session.commit()


def integrations_awaiting_verdicts() -> list[int]:
    """Integrations with a sent request whose verdict check is due."""
    with session_scope() as session:
        return [
            int(i)
            for i in session.exec(
                select(PushRequest.integration_id)
                .distinct()
                .join(Integration, col(Integration.id) == col(PushRequest.integration_id))
                .where(
                    col(PushRequest.next_check_at) <= utcnow(),
                    col(Integration.status).in_([*RUNNABLE, IntegrationStatus.PAUSED]),
                )
            )
        ]
