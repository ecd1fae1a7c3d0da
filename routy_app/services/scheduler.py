"""Background scheduling: one pull job per syncing integration, token refresh, and hooks for
other periodic jobs (the push engine adds its own), run by exactly one process (the leader).

Jobs live only in memory and are rebuilt from the database at start-up, so a restart loses nothing:
the database is the schedule. The next pull is derived from the last pull (services/pull/clock.py), so
neither a restart nor a push moves it; integrations that are overdue start within seconds, staggered.

Changes saved on any instance (schedule, direction, pause, resume, disconnect, a pull run elsewhere)
reach the leader by polling: every ROUTY_CHANGE_POLL_SECONDS (10 s) it compares what decides each pull
job with what it scheduled and reschedules what differs. The leader also sweeps dead leases and
interrupted runs every ROUTY_SWEEP_SECONDS (60 s; services/runs.reclaim_dead, services/leases.py).

Leader election: on SQLite an fcntl file lock in the data dir (one host); on other databases a
DB lease (Lease row "scheduler") renewed while held, so a crashed leader is replaced.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import col, select

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.models import Integration, saved_id
from routy_app.services import leases, rescheduling, runs
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations import access as integration_access
from routy_app.services.pull import PULL_DIRECTIONS, PULL_STATUSES, run_pull
from routy_app.services.pull import clock as pull_clock
from routy_app.statuses import RunTrigger
from routy_app.timeutil import utcnow

log = logging.getLogger("routy.scheduler")

TOKEN_REFRESH_SECONDS = 300
MISFIRE_GRACE_SECONDS = 600
STAGGER_SECONDS = 3  # overdue integrations start this far apart after a restart
DUE_TOLERANCE = dt.timedelta(seconds=2)  # a job this close to the computed due time is left alone
OVERDUE_SOON = dt.timedelta(minutes=2)  # an overdue integration's job due within this is left alone
EXPIRY_MARGIN = dt.timedelta(seconds=1)  # sweep this long after another machine's lease would expire


def pull_job_id(integration_id: int) -> str:
    return f"pull:{integration_id}"


def _should_pull(integration: Integration) -> bool:
    return (
        integration.status in PULL_STATUSES
        and integration.direction in PULL_DIRECTIONS
        and bool(integration.account_id)
    )


def _job_matches(job: Any, integration: Integration) -> bool:
    """True when the job already runs at the integration's interval, next at its due time (or soon, when
    it is overdue): rescheduling it would only move a pull that is about to happen."""
    if (
        not isinstance(job.trigger, IntervalTrigger)
        or job.trigger.interval != pull_clock.interval(integration)
        or job.next_run_time is None
    ):
        return False
    now = utcnow()
    due = pull_clock.next_pull_due(integration)
    if due is None or due <= now:
        return bool(job.next_run_time <= now + OVERDUE_SOON)  # (apscheduler is untyped: job is Any)
    return bool(abs(job.next_run_time - due) <= DUE_TOLERANCE)


Fingerprint = tuple[bool, int, dt.datetime | None]  # (should pull, minutes between pulls, last pull)


def _fingerprint(integration: Integration) -> Fingerprint:
    """What decides an integration's pull job: when it changes, the job is rescheduled."""
    return (_should_pull(integration), integration.schedule_minutes, integration.last_pull_at)


class SyncScheduler:
    """An AsyncIOScheduler holding the pull jobs of every active integration."""

    def __init__(self, hub: ProviderHub, *, misfire_grace_seconds: int = MISFIRE_GRACE_SECONDS) -> None:
        self.hub = hub
        self.misfire_grace_seconds = misfire_grace_seconds
        self._scheduler = AsyncIOScheduler(timezone=dt.UTC)
        self._extra: dict[str, tuple[Callable[[], Awaitable[Any]] | Callable[[], Any], float, float | None]] = {}
        self._seen: dict[int, Fingerprint] = {}  # integration id -> the fingerprint its pull job was made from

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start (inside a running event loop) with the token refresh job, the change poll, the lease
        sweep and any extra jobs."""
        settings = get_settings()
        self._scheduler.add_job(
            self._refresh_tokens,
            IntervalTrigger(seconds=TOKEN_REFRESH_SECONDS),
            id="tokens:refresh",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=self.misfire_grace_seconds,
        )
        self._add_interval("changes:poll", self._poll_changes, settings.change_poll_seconds)
        self._add_interval("leases:sweep", self._sweep, settings.sweep_seconds, first_after=1)
        for job_id, (func, seconds, first) in self._extra.items():
            self._add_interval(job_id, func, seconds, first)
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    # ------------------------------------------------------------ pull jobs

    def rebuild(self) -> list[str]:
        """Replace every pull job with the ones the database calls for; returns their ids."""
        for job in self._scheduler.get_jobs():
            if job.id.startswith("pull:"):
                job.remove()
        self._seen.clear()
        with session_scope() as session:
            everything = session.exec(select(Integration).order_by(col(Integration.id))).all()
        integrations = [i for i in everything if _should_pull(i)]
        self._seen = {saved_id(i): _fingerprint(i) for i in everything}
        overdue = 0
        for integration in integrations:
            overdue = self._schedule(integration, overdue)
        log.info("scheduler: %d pull jobs", len(integrations))
        return [pull_job_id(saved_id(i)) for i in integrations]

    def reschedule(self, integration_id: int) -> bool:
        """Add, update or remove one integration's pull job now; True when it has one afterwards."""
        with session_scope() as session:
            integration = session.get(Integration, integration_id)
        return self._apply(integration_id, integration)

    def _apply(self, integration_id: int, integration: Integration | None, overdue: int = 0) -> bool:
        """Make the integration's pull job match `integration` (None: it is gone); True when it has one."""
        job = self._scheduler.get_job(pull_job_id(integration_id))
        if integration is None:
            self._seen.pop(integration_id, None)
        else:
            self._seen[integration_id] = _fingerprint(integration)
        if integration is None or not _should_pull(integration):
            if job is not None:
                job.remove()
                log.info("scheduler: integration %s no longer pulls on a schedule", integration_id)
            return False
        if job is None or not _job_matches(job, integration):
            self._schedule(integration, overdue)
        return True

    def sync_with_database(self) -> list[int]:
        """Reschedule every integration whose pull job no longer matches the database (a change saved on
        another instance, a pull run elsewhere, a disconnect); returns their ids."""
        with session_scope() as session:
            current = {saved_id(i): i for i in session.exec(select(Integration)).all()}
        changed = [iid for iid, integration in current.items() if self._seen.get(iid) != _fingerprint(integration)]
        changed += [iid for iid in self._seen if iid not in current]
        overdue = 0
        for iid in changed:
            integration = current.get(iid)
            if (
                self._apply(iid, integration, overdue)
                and integration is not None
                and pull_clock.is_overdue(integration)
            ):
                overdue += 1
        if changed:
            log.info("scheduler: changes picked up for integration(s) %s", ", ".join(map(str, sorted(changed))))
        return changed

    async def _poll_changes(self) -> None:
        try:
            self.sync_with_database()
        except Exception:
            log.exception("polling for schedule changes failed")

    async def _sweep(self) -> None:
        """Reclaim dead leases and close their runs; what they held may be due, so push now. A lease of
        another machine can only expire: the next sweep is brought forward to just after the soonest
        such expiry, so recovery from a dead replica takes the lease TTL, not TTL + a sweep interval."""
        try:
            reclaimed = await asyncio.to_thread(runs.reclaim_dead)
            if reclaimed.leases:
                self.run_job_soon("push:all")
            expiry = await asyncio.to_thread(runs.next_foreign_expiry)
        except Exception:
            log.exception("sweeping dead leases failed")
            return
        regular = self._scheduler.get_job("leases:sweep")
        if expiry is not None and (
            regular is None or regular.next_run_time is None or expiry + EXPIRY_MARGIN < regular.next_run_time
        ):
            self._scheduler.add_job(
                self._sweep,
                DateTrigger(expiry + EXPIRY_MARGIN, timezone=dt.UTC),
                id="leases:at-expiry",
                replace_existing=True,
                misfire_grace_time=self.misfire_grace_seconds,
            )

    def _schedule(self, integration: Integration, overdue: int) -> int:
        now = utcnow()
        due = pull_clock.next_pull_due(integration) or now
        if due <= now:
            due = now + dt.timedelta(seconds=STAGGER_SECONDS * (overdue + 1))
            overdue += 1
        log.info(
            "scheduler: integration %s pulls every %d min, next at %s",
            integration.id,
            max(1, integration.schedule_minutes),
            due.strftime("%H:%M:%S UTC"),
        )
        self._scheduler.add_job(
            self._pull,
            IntervalTrigger(minutes=max(1, integration.schedule_minutes), timezone=dt.UTC),
            args=[saved_id(integration)],
            id=pull_job_id(saved_id(integration)),
            name=f"pull integration {integration.id}",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=self.misfire_grace_seconds,
            next_run_time=due,
        )
        return overdue

    def run_soon(self, integration_id: int) -> bool:
        """Move the integration's next scheduled pull to now (False when it has no pull job)."""
        return self.run_job_soon(pull_job_id(integration_id))

    def run_job_soon(self, job_id: str) -> bool:
        """Move any job's next run to now (False when there is no such job)."""
        job = self._scheduler.get_job(job_id)
        if job is None:
            return False
        job.modify(next_run_time=utcnow())
        if self._scheduler.running:
            self._scheduler.wakeup()
        return True

    async def _pull(self, integration_id: int) -> None:
        try:
            await run_pull(self.hub, integration_id, RunTrigger.SCHEDULE)
        except (leases.AlreadyRunning, runs.RunRefused) as exc:
            log.info("scheduled pull of integration %s skipped: %s", integration_id, exc)
            return
        except Exception:
            log.exception("scheduled pull of integration %s crashed", integration_id)
            return
        self.reschedule(integration_id)  # the pull clock moved; Reconnection Required: no more pull jobs

    async def _refresh_tokens(self) -> None:
        try:
            await integration_access.refresh_expiring_tokens(self.hub)
        except Exception:
            log.exception("token refresh job failed")

    # ------------------------------------------------------------ other periodic jobs

    def add_interval_job(
        self,
        job_id: str,
        func: Callable[[], Awaitable[Any]] | Callable[[], Any],
        seconds: float,
        first_after: float | None = None,
    ) -> None:
        """Run `func` every `seconds` (max one instance, coalesced), the first time `first_after` seconds
        after the start when given (else after one interval); kept across start()."""
        self._extra[job_id] = (func, seconds, first_after)
        self._add_interval(job_id, func, seconds, first_after)

    def _add_interval(
        self, job_id: str, func: Callable[..., Any], seconds: float, first_after: float | None = None
    ) -> None:
        first = {"next_run_time": utcnow() + dt.timedelta(seconds=first_after)} if first_after is not None else {}
        self._scheduler.add_job(
            func,
            IntervalTrigger(seconds=seconds),
            id=job_id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=self.misfire_grace_seconds,
            **first,
        )

    def jobs(self) -> dict[str, dt.datetime | None]:
        """Job id -> next run time (None while the scheduler has not started or the job is paused)."""
        return {job.id: getattr(job, "next_run_time", None) for job in self._scheduler.get_jobs()}

    def interval_of(self, job_id: str) -> dt.timedelta | None:
        job = self._scheduler.get_job(job_id)
        return job.trigger.interval if job is not None and isinstance(job.trigger, IntervalTrigger) else None


# ---------------------------------------------------------------- the app's lifespan task

_current: SyncScheduler | None = None


def set_current(scheduler: SyncScheduler | None) -> None:
    """Called by services/leadership.py when this process starts or stops leading."""
    global _current
    _current = scheduler
    rescheduling.attach(scheduler)


def current_scheduler() -> SyncScheduler | None:
    """The running scheduler of this process (None when another process leads or it is off)."""
    return _current


_startup_hooks: list[Callable[[SyncScheduler], None]] = []


def startup_hooks() -> list[Callable[[SyncScheduler], None]]:
    return list(_startup_hooks)


def on_scheduler_start(hook: Callable[[SyncScheduler], None]) -> None:
    """Register `hook(scheduler)` to add periodic jobs (e.g. the push engine) when a scheduler starts."""
    if hook not in _startup_hooks:
        _startup_hooks.append(hook)
