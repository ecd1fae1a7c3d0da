"""The alerts job: every minute on the scheduler leader, evaluate then send due notices.

A status change (Needs attention, Reconnection Required, back to Active) wakes the job at once
instead of waiting for the minute: a SQLAlchemy listener on `Integration.status` marks the session,
and its commit asks this process's scheduler to run the job now (or once more, if it is running).
That keeps the sync code free of alert calls; in a process that does not lead the scheduler the
change is picked up by the next run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading

import httpx
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from routy_app.config import get_settings
from routy_app.models import Integration
from routy_app.outbound.guard import guarded_client
from routy_app.services import scheduler
from routy_app.services.alerts.delivery import DeliverySummary, deliver_due
from routy_app.services.alerts.evaluator import evaluate
from routy_app.services.alerts.incidents import Summary
from routy_app.services.alerts.transports import Transport

log = logging.getLogger("routy.alerts")

JOB_ID = "alerts:evaluate"
EVERY_SECONDS = 60
_KICK = "routy_alerts_kick"
_transport: Transport | None = None
_again = threading.Event()  # a status change arrived: run (again) as soon as possible
_running = False


def default_transport() -> Transport:
    """The process-wide transport (one HTTP connection pool for alert webhooks)."""
    global _transport
    if _transport is None:
        client = guarded_client(httpx.Timeout(10.0, connect=5.0))
        _transport = Transport(http=client)
    return _transport


async def run_once(
    transport: Transport | None = None, now: dt.datetime | None = None
) -> tuple[Summary, DeliverySummary]:
    """Evaluate (in a worker thread: it is database work) and send what is due."""
    transport = transport or default_transport()
    incidents = await asyncio.to_thread(evaluate, now)
    sent = await deliver_due(transport, get_settings().public_url, now=now)
    return incidents, sent


async def _tick() -> None:
    """One scheduled run; runs again at once when a status change arrived while it was running."""
    global _running
    _running = True
    try:
        while True:
            _again.clear()
            try:
                await run_once()
            except Exception:
                log.exception("alerts job failed")
            if not _again.is_set():
                return
    finally:
        _running = False


def kick() -> None:
    """Run the job as soon as possible (no-op unless this process leads the scheduler)."""
    _again.set()
    current = scheduler.current_scheduler()
    if current is not None and not _running:
        current.run_job_soon(JOB_ID)


def _status_set(target: Integration, value: object, oldvalue: object, _initiator: object) -> None:
    """An integration's status attribute was assigned: remember it on its session until commit."""
    session = object_session(target)
    if session is not None and value != oldvalue:
        session.info[_KICK] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_KICK, False):
        kick()


def _after_rollback(session: Session) -> None:
    session.info.pop(_KICK, None)


def _install(sync_scheduler: scheduler.SyncScheduler) -> None:
    sync_scheduler.add_interval_job(JOB_ID, _tick, EVERY_SECONDS)


def install() -> None:
    """Register the job with the scheduler (added whenever this process leads) and the status listener."""
    scheduler.on_scheduler_start(_install)
    if not event.contains(Integration.status, "set", _status_set):
        event.listen(Integration.status, "set", _status_set)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
