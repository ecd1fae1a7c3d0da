"""Who runs the scheduler: exactly one process, the leader.

On SQLite (one host) the leader holds an fcntl lock on a file in the data dir, which the OS releases when
the process dies; on other databases it holds the "scheduler" lease (services/leases.py), renewed while it
leads, so a crashed leader is replaced once its lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from routy_app.config import get_settings
from routy_app.services import leases, scheduler
from routy_app.services.hub import default_hub

log = logging.getLogger("routy.scheduler")


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
    """The Lease row "scheduler": taken when free, expired or its holder is dead; renewed while held."""

    def __init__(self, name: str = "scheduler", ttl: dt.timedelta | None = None) -> None:
        self.name = name
        self.ttl = ttl if ttl is not None else leases.lease_ttl()
        self.holder = leases.holder_id()

    def acquire(self) -> bool:
        return leases.try_acquire_lease(self.name, self.holder, self.ttl)

    def renew(self) -> bool:
        return leases.renew_lease(self.name, self.holder, self.ttl)

    def release(self) -> None:
        leases.release_lease(self.name, self.holder)


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
    waiting = False
    while not stop.is_set():
        if use_file_lock:
            with leader_lock(Path(data_dir)) as leader:
                if leader:
                    await _run_scheduler(stop, None)
                    return
        else:
            lease = DbLease()
            if await asyncio.to_thread(lease.acquire):
                try:
                    await _run_scheduler(stop, lease)
                finally:
                    lease.release()
                if stop.is_set():
                    return
                continue  # lease lost: try to lead again
        if not waiting:
            log.info("scheduler: another process leads; waiting to lead")
            waiting = True
        with contextlib.suppress(asyncio.TimeoutError):  # try again while the leader's lease could expire
            await asyncio.wait_for(stop.wait(), timeout=leases.lease_ttl().total_seconds() / 3)


async def _run_scheduler(stop: asyncio.Event, lease: DbLease | None) -> None:
    sync_scheduler = scheduler.SyncScheduler(default_hub())
    for hook in scheduler.startup_hooks():
        hook(sync_scheduler)
    sync_scheduler.rebuild()
    sync_scheduler.start()
    scheduler.set_current(sync_scheduler)
    log.info("scheduler started (this process leads)")
    try:
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=lease.ttl.total_seconds() / 3 if lease else 60)
            if lease is not None and not stop.is_set() and not await asyncio.to_thread(lease.renew):
                log.warning("scheduler lease lost; stopping here")
                return
    finally:
        scheduler.set_current(None)
        sync_scheduler.shutdown()
