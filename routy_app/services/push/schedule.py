"""The push job the scheduler leader runs every minute: catch up the queue, push what is due, poll verdicts."""

from __future__ import annotations

import logging

from sqlmodel import Session

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.providers import registry
from routy_app.services import leases, runs, scheduler
from routy_app.services.hub import ProviderHub
from routy_app.services.push import outbox
from routy_app.services.push.due import integrations_with_due_rows
from routy_app.services.push.engine import PushSummary, run_push
from routy_app.services.push.verdicts import integrations_awaiting_verdicts, poll_verdicts
from routy_app.timeutil import utcnow

log = logging.getLogger("routy.push")

FIRST_PUSH_AFTER_SECONDS = 2  # a new leader sends what waited (e.g. while the app was down) at once


def catch_up(session: Session | None = None) -> int:
    """Queue conversions received within the longest push window that lack their outbox rows
    (arrived while the app was down, or before their mapping existed). Idempotent."""
    since = utcnow() - registry.longest_push_window()
    if session is not None:
        return outbox.enqueue_missing(session, since=since)
    with session_scope() as own:
        added = outbox.enqueue_missing(own, since=since)
        own.commit()
        return added


async def push_due_all(hub: ProviderHub) -> dict[int, PushSummary]:
    """The every-minute job: catch up the queue, push every integration with due rows, poll verdicts."""
    catch_up()
    done: dict[int, PushSummary] = {}
    for integration_id in integrations_with_due_rows():
        try:
            done[integration_id] = await run_push(hub, integration_id, "schedule")
        except (leases.AlreadyRunning, runs.RunRefused):  # another push runs, or it changed meanwhile
            log.info("push of integration %s is already running", integration_id)
        except Exception:
            log.exception("push of integration %s failed", integration_id)
    for integration_id in integrations_awaiting_verdicts():
        try:
            await poll_verdicts(hub, integration_id)
        except Exception:
            log.exception("verdict polling of integration %s failed", integration_id)
    return done


def _install(sync_scheduler: scheduler.SyncScheduler) -> None:
    async def push_all() -> None:
        await push_due_all(sync_scheduler.hub)

    every = get_settings().push_every_seconds  # "within a minute of new conversions arriving"
    sync_scheduler.add_interval_job("push:all", push_all, every, first_after=min(every, FIRST_PUSH_AFTER_SECONDS))


def install() -> None:
    """Register the push job to be added whenever this process becomes the scheduler leader."""
    scheduler.on_scheduler_start(_install)
