"""Background scheduling: one pull job per syncing integration, token refresh, and hooks for
other periodic jobs (the push engine adds its own), run by exactly one process (the leader).

Jobs live only in memory and are rebuilt from the database at start-up (and per integration
by `reschedule` after a schedule or status change), so a restart loses nothing: the database is
the schedule. The next run time is derived from `last_sync_at`, so a restart does not reset the
clock either; integrations that are overdue start within a few seconds, staggered.

Leader election: on SQLite an fcntl file lock in the data dir (one host); on other databases a
DB lease (Lease row "scheduler") renewed while held, so a crashed leader is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import select

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.models import Integration
from routy_app.services import connections, runs
from routy_app.services.hub import ProviderHub, default_hub
from routy_app.services.pull import PULL_DIRECTIONS, PULL_STATUSES, PullRefused, run_pull
from routy_app.timeutil import utcnow

log = logging.getLogger("routy.scheduler")

TOKEN_REFRESH_SECONDS = 300
MISFIRE_GRACE_SECONDS = 600
STAGGER_SECONDS = 3  # overdue integrations start this far apart after a restart
LEADER_RETRY_SECONDS = 30
LEASE_TTL = dt.timedelta(seconds=60)


def pull_job_id(integration_id: int) -> str:
    return f"pull:{integration_id}"


def _should_pull(integration: Integration) -> bool:
    return integration.status in PULL_STATUSES and integration.direction in PULL_DIRECTIONS \
        and bool(integration.account_id)


class SyncScheduler:
    """An AsyncIOScheduler holding the pull jobs of every active integration."""

    def __init__(self, hub: ProviderHub, *, misfire_grace_seconds: int = MISFIRE_GRACE_SECONDS) -> None:
        self.hub = hub
        self.misfire_grace_seconds = misfire_grace_seconds
        self._scheduler = AsyncIOScheduler(timezone=dt.timezone.utc)
        self._extra: dict[str, tuple[Callable[[], Awaitable[Any]] | Callable[[], Any], int]] = {}

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start (inside a running event loop) with the token refresh job and any extra jobs."""
        self._scheduler.add_job(self._refresh_tokens, IntervalTrigger(seconds=TOKEN_REFRESH_SECONDS),
                                id="tokens:refresh", replace_existing=True, max_instances=1, coalesce=True,
                                misfire_grace_time=self.misfire_grace_seconds)
        for job_id, (func, seconds) in self._extra.items():
            self._add_interval(job_id, func, seconds)
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return self._scheduler.running

    # ------------------------------------------------------------ pull jobs

    def rebuild(self) -> list[str]:
        """Replace every pull job with the ones the database calls for; returns their ids."""
        for job in self._scheduler.get_jobs():
            if job.id.startswith("pull:"):
                job.remove()
        with session_scope() as session:
            integrations = [i for i in session.exec(select(Integration).order_by(Integration.id)).all()
                            if _should_pull(i)]
        overdue = 0
        for integration in integrations:
            overdue = self._schedule(integration, overdue)
        log.info("scheduler: %d pull jobs", len(integrations))
        return [pull_job_id(int(i.id)) for i in integrations]  # type: ignore[arg-type]

    def reschedule(self, integration_id: int) -> bool:
        """Add, update or remove one integration's pull job now; True when it has one afterwards."""
        with session_scope() as session:
            integration = session.get(Integration, integration_id)
        job = self._scheduler.get_job(pull_job_id(integration_id))
        if integration is None or not _should_pull(integration):
            if job is not None:
                job.remove()
            return False
        if job is not None and isinstance(job.trigger, IntervalTrigger) \
                and job.trigger.interval == dt.timedelta(minutes=max(1, integration.schedule_minutes)):
            return True  # unchanged: keep its next run time
        self._schedule(integration, 0)
        return True

    def _schedule(self, integration: Integration, overdue: int) -> int:
        interval = dt.timedelta(minutes=max(1, integration.schedule_minutes))
        now = utcnow()
        due = (integration.last_sync_at + interval) if integration.last_sync_at else now
        if due <= now:
            due = now + dt.timedelta(seconds=STAGGER_SECONDS * (overdue + 1))
            overdue += 1
        self._scheduler.add_job(
            self._pull, IntervalTrigger(minutes=max(1, integration.schedule_minutes), timezone=dt.timezone.utc),
            args=[int(integration.id)], id=pull_job_id(int(integration.id)), name=f"pull integration {integration.id}",  # type: ignore[arg-type]
            replace_existing=True, max_instances=1, coalesce=True, misfire_grace_time=self.misfire_grace_seconds,
            next_run_time=due)
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
            summary = await run_pull(self.hub, integration_id, "schedule")
        except (runs.AlreadyRunning, PullRefused) as exc:
            log.info("scheduled pull of integration %s skipped: %s", integration_id, exc)
            return
        except Exception:  # noqa: BLE001 - the run is already closed as failed; keep the scheduler alive
            log.exception("scheduled pull of integration %s crashed", integration_id)
            return
        if summary.status != "success":
            self.reschedule(integration_id)  # e.g. Reconnection Required: no more pull jobs for it

    async def _refresh_tokens(self) -> None:
        try:
            await connections.refresh_expiring_tokens(self.hub)
        except Exception:  # noqa: BLE001
            log.exception("token refresh job failed")

    # ------------------------------------------------------------ other periodic jobs

    def add_interval_job(self, job_id: str, func: Callable[[], Awaitable[Any]] | Callable[[], Any],
                         seconds: int) -> None:
        """Run `func` every `seconds` (max one instance, coalesced); kept across start()."""
        self._extra[job_id] = (func, seconds)
        self._add_interval(job_id, func, seconds)

    def _add_interval(self, job_id: str, func: Callable[..., Any], seconds: int) -> None:
        self._scheduler.add_job(func, IntervalTrigger(seconds=seconds), id=job_id, replace_existing=True,
                                max_instances=1, coalesce=True, misfire_grace_time=self.misfire_grace_seconds)

    def jobs(self) -> dict[str, dt.datetime | None]:
        """Job id -> next run time (None while the scheduler has not started or the job is paused)."""
        return {job.id: getattr(job, "next_run_time", None) for job in self._scheduler.get_jobs()}

    def interval_of(self, job_id: str) -> dt.timedelta | None:
        job = self._scheduler.get_job(job_id)
        return job.trigger.interval if job is not None and isinstance(job.trigger, IntervalTrigger) else None


# ---------------------------------------------------------------- leader election


@contextlib.contextmanager
def leader_lock(data_dir: Path) -> Iterator[bool]:
    """An exclusive, non-blocking flock on data_dir/scheduler.lock; yields whether we got it.

    The OS releases it when the process dies, so a new process can lead at once.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / "scheduler.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class DbLease:
    """The Lease row "scheduler": taken when free or expired, renewed while held (multi-host)."""

    def __init__(self, name: str = "scheduler", ttl: dt.timedelta = LEASE_TTL) -> None:
        self.name = name
        self.ttl = ttl
        self.holder = runs.holder_id()

    def acquire(self) -> bool:
        return runs.try_acquire_lease(self.name, self.holder, self.ttl)

    def renew(self) -> bool:
        return runs.renew_lease(self.name, self.holder, self.ttl)

    def release(self) -> None:
        runs.release_lease(self.name, self.holder)


# ---------------------------------------------------------------- the app's lifespan task

_current: SyncScheduler | None = None


def current_scheduler() -> SyncScheduler | None:
    """The running scheduler of this process (None when another process leads or it is off)."""
    return _current


def reschedule(integration_id: int) -> None:
    """Convenience for UI events: update the job if this process runs the scheduler."""
    if _current is not None:
        _current.reschedule(integration_id)


@contextlib.asynccontextmanager
async def scheduler_lifespan() -> AsyncIterator[None]:
    """Register with `app.register_lifespan_task`: leads (or waits to lead) and runs the jobs."""
    settings = get_settings()
    if not settings.scheduler_enabled:
        log.info("scheduler disabled (ROUTY_SCHEDULER_ENABLED=false)")
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(_lead(settings.data_dir, settings.database_url.startswith("sqlite"), stop))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, timeout=10)


async def _lead(data_dir: Path, use_file_lock: bool, stop: asyncio.Event) -> None:
    """Become leader (retrying while another process is), run the scheduler until `stop`."""
    global _current
    while not stop.is_set():
        if use_file_lock:
            with leader_lock(Path(data_dir)) as leader:
                if leader:
                    await _run_scheduler(stop, None)
                    return
        else:
            lease = DbLease()
            if lease.acquire():
                try:
                    await _run_scheduler(stop, lease)
                finally:
                    lease.release()
                if stop.is_set():
                    return
                continue  # lease lost: try to lead again
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=LEADER_RETRY_SECONDS)


async def _run_scheduler(stop: asyncio.Event, lease: DbLease | None) -> None:
    global _current
    runs.close_stale_runs()
    scheduler = SyncScheduler(default_hub())
    for hook in list(_startup_hooks):
        hook(scheduler)
    scheduler.rebuild()
    scheduler.start()
    _current = scheduler
    log.info("scheduler started (this process leads)")
    try:
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=LEASE_TTL.total_seconds() / 3)
            if lease is not None and not stop.is_set() and not lease.renew():
                log.warning("scheduler lease lost; stopping here")
                return
    finally:
        _current = None
        scheduler.shutdown()


_startup_hooks: list[Callable[[SyncScheduler], None]] = []


def on_scheduler_start(hook: Callable[[SyncScheduler], None]) -> None:
    """Register `hook(scheduler)` to add periodic jobs (e.g. the push engine) when a scheduler starts."""
    if hook not in _startup_hooks:
        _startup_hooks.append(hook)
