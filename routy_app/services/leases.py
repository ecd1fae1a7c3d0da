"""Leases: the one place that knows who holds what, how a dead process is told from a live one, and what
happens to what it left behind (its running runs are closed as interrupted).

- A SyncRun row is written as running before any provider call and closed with counts and the provider's
  words. It records the lease holder that runs it.
- A run holds its integration's lease (a Lease row: `run:<id>` for pulls, `run:<id>:push` for pushes)
  taken with an atomic insert-or-take-over, so it holds across processes and hosts, on SQLite and
  PostgreSQL. The lease is short (ROUTY_LEASE_TTL_SECONDS, 60 s) and renewed every third of it while the
  run works (`HeldLease.heartbeat`), so a process that stops renewing loses it within a minute.
- A lease (and its runs) is reclaimed as soon as its holder is provably dead: the same machine (hostname,
  boot id and pid namespace) and that pid gone, or alive with another start time (a reused pid). A holder
  on another machine can only be reclaimed once its lease has expired. Reclaiming marks the holder's
  running runs "interrupted" with when and why.
- Who reclaims: anyone who wants the lease (Sync Now, a scheduled job) takes over a dead holder's at
  once; every process reclaims at start (`reclaim_dead`); the scheduler leader sweeps every minute
  (ROUTY_SWEEP_SECONDS), which closes the runs of holders on other machines once their leases expire.

Recovery bound with the defaults: same machine, immediately at restart (or at the next Sync Now); another
machine, when the lease expires (<= 60 s after the last renewal) plus at most one sweep (60 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.errors import Conflict
from routy_app.models import Lease, SyncRun
from routy_app.statuses import RunStatus
from routy_app.timeutil import utcnow

log = logging.getLogger("routy.runs")

PID_START_TOLERANCE = 1.0  # seconds: a process's start time as read twice (rounding of clock ticks)


class AlreadyRunning(Conflict):
    """Another run of the same kind of this integration holds its lease."""

    def __init__(self, message: str = "A sync is already running for this integration.") -> None:
        super().__init__(message)


def lease_ttl() -> dt.timedelta:
    return dt.timedelta(seconds=get_settings().lease_ttl_seconds)


# ---------------------------------------------------------------- who holds a lease


@dataclass(frozen=True)
class ProcessId:
    """This process as a lease records it: a pid is only comparable on the same `machine`."""

    machine: str  # hostname | boot id | pid namespace: one pid space
    pid: int
    started: float  # the process's start time (epoch seconds): a reused pid has another

    @property
    def host(self) -> str:
        return self.machine.split("|", 1)[0]


@functools.cache
def this_machine() -> str:
    """Hostname, boot id and pid namespace: two processes see the same pids only when all three match
    (containers may share a hostname, a rebooted host reuses pids)."""
    parts = [socket.gethostname()]
    try:
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
        parts.append(os.readlink("/proc/self/ns/pid"))
    except OSError:  # not Linux: the boot time stands in for the boot id, no namespaces
        parts += [str(int(psutil.boot_time())), ""]
    return "|".join(parts)


def current_process() -> ProcessId:
    pid = os.getpid()  # not cached: a forked worker is another process
    return ProcessId(this_machine(), pid, psutil.Process(pid).create_time())


def holder_id() -> str:
    """A holder name unique to this process and call (host:pid:random), readable in the Lease table."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _gone(machine: str | None, pid: int | None, started: float | None) -> str | None:
    """Why the recorded process is provably dead, or None when it may be alive (or cannot be checked here)."""
    if not machine or pid is None or machine != this_machine():
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return "the process is gone"
        if started is not None and abs(process.create_time() - started) > PID_START_TOLERANCE:
            return "the process is gone (its pid now belongs to another process)"
        return None
    except psutil.NoSuchProcess:
        return "the process is gone"
    except psutil.Error:  # e.g. access denied: it exists
        return None


def dead_reason(lease: Lease, now: dt.datetime) -> str | None:
    """Why `lease`'s holder no longer holds it (provably dead, or silent past its expiry), else None."""
    gone = _gone(lease.machine, lease.pid, lease.pid_started)
    if gone:
        return gone
    if lease.expires_at < now:
        return "it stopped renewing its lease (no sign of life since its last renewal)"
    return None


# ---------------------------------------------------------------- leases


def _stamp(holder: str, ttl: dt.timedelta, now: dt.datetime) -> dict[str, Any]:
    me = current_process()
    return {
        "holder": holder,
        "expires_at": now + ttl,
        "renewed_at": now,
        "machine": me.machine,
        "pid": me.pid,
        "pid_started": me.started,
    }


def try_acquire_lease(name: str, holder: str, ttl: dt.timedelta | None = None) -> bool:
    """Take `name` if it is free, already ours, expired or held by a provably dead process (whose running
    runs are then closed as interrupted). Atomic across processes: True when we hold it."""
    ttl = ttl if ttl is not None else lease_ttl()
    now = utcnow()
    with session_scope() as session:
        current = session.get(Lease, name)
        if current is None:
            try:
                session.add(Lease(name=name, **_stamp(holder, ttl, now)))
                session.commit()
                return True
            except IntegrityError:  # someone else inserted it first
                session.rollback()
                current = session.get(Lease, name)
                if current is None:
                    return False
        if current.holder == holder:
            return _take(session, name, current.holder, holder, ttl, now)
        why = dead_reason(current, now)
        if why is None:
            return False
        previous = snapshot(current)
        if not _take(session, name, previous.holder, holder, ttl, now):
            return False  # another process took it over first
    interrupt_runs_of(previous, why, now)
    return True


def _take(session: Session, name: str, expected: str, holder: str, ttl: dt.timedelta, now: dt.datetime) -> bool:
    """Write ourselves into the lease if it is still held by `expected` (compare-and-set)."""
    taken = session.exec(
        update(Lease).where(col(Lease.name) == name, col(Lease.holder) == expected).values(**_stamp(holder, ttl, now))
    ).rowcount
    session.commit()
    return bool(taken)


def renew_lease(name: str, holder: str, ttl: dt.timedelta | None = None) -> bool:
    """Extend our lease; False when it was lost (taken over by someone else)."""
    now = utcnow()
    with session_scope() as session:
        n = session.exec(
            update(Lease)
            .where(col(Lease.name) == name, col(Lease.holder) == holder)
            .values(expires_at=now + (ttl if ttl is not None else lease_ttl()), renewed_at=now)
        ).rowcount
        session.commit()
        return bool(n)


def release_lease(name: str, holder: str) -> None:
    with session_scope() as session:
        session.exec(delete(Lease).where(col(Lease.name) == name, col(Lease.holder) == holder))
        session.commit()


def lease_held(name: str) -> bool:
    """True while a live process holds `name`; a dead holder's lease is reclaimed on the way."""
    now = utcnow()
    with session_scope() as session:
        lease = session.get(Lease, name)
        if lease is None:
            return False
        why = dead_reason(lease, now)
        if why is None:
            return True
        previous = snapshot(lease)
        reclaimed = session.exec(
            delete(Lease).where(col(Lease.name) == name, col(Lease.holder) == previous.holder)
        ).rowcount
        session.commit()
    if reclaimed:
        interrupt_runs_of(previous, why, now)
    return False


@dataclass
class HeldLease:
    """A lease this process holds while it works. `heartbeat()` renews it every third of its TTL in the
    background; `keep()` says whether it is still ours before a step that must not run twice (a read of
    due rows, a provider request), renewing on the spot when the last renewal is getting old."""

    name: str
    holder: str
    ttl: dt.timedelta
    lost: bool = False
    renewed: float = field(default_factory=time.monotonic)

    def renew(self) -> bool:
        if self.lost:
            return False
        if renew_lease(self.name, self.holder, self.ttl):
            self.renewed = time.monotonic()
            return True
        self.lost = True
        log.warning("lease %s was lost (taken over by another process)", self.name)
        return False

    def keep(self) -> bool:
        if self.lost:
            return False
        if time.monotonic() - self.renewed < self.ttl.total_seconds() / 2:
            return True
        return self.renew()

    async def heartbeat(self) -> None:
        """Renew until cancelled or lost; a database hiccup is retried at the next beat."""
        every = self.ttl.total_seconds() / 3
        while not self.lost:
            await asyncio.sleep(every)
            try:
                await asyncio.to_thread(self.renew)
            except Exception:
                log.exception("renewing lease %s failed", self.name)


def run_lock_name(integration_id: int, scope: str | None = None) -> str:
    """`run:<id>` for pulls; a `scope` gives a separate lock (`run:<id>:push`): a pull and a push of one
    integration may run at the same time (they write different tables), never two of one kind."""
    return f"run:{integration_id}" if not scope else f"run:{integration_id}:{scope}"


@contextlib.asynccontextmanager
async def run_lock(integration_id: int, scope: str | None = None) -> AsyncIterator[HeldLease]:
    """Hold the integration's run lock for the block, renewed in the background; raises AlreadyRunning
    when a live process holds it. Never two runs of one kind of the same integration at once."""
    async with hold(run_lock_name(integration_id, scope)) as lease:
        yield lease


@contextlib.asynccontextmanager
async def hold(name: str) -> AsyncIterator[HeldLease]:
    lease = HeldLease(name, holder_id(), lease_ttl())
    if not await asyncio.to_thread(try_acquire_lease, name, lease.holder, lease.ttl):
        raise AlreadyRunning()
    beat = asyncio.create_task(lease.heartbeat())
    try:
        yield lease
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        release_lease(name, lease.holder)


@contextlib.contextmanager
def held_without_heartbeat(integration_id: int, scope: str | None = None) -> Iterator[HeldLease]:
    """The run lock for a short synchronous block (no renewal): tests stand in for a running run with it."""
    lease = HeldLease(run_lock_name(integration_id, scope), holder_id(), lease_ttl())
    if not try_acquire_lease(lease.name, lease.holder, lease.ttl):
        raise AlreadyRunning()
    try:
        yield lease
    finally:
        release_lease(lease.name, lease.holder)


def is_running(integration_id: int, scope: str | None = None) -> bool:
    """True while a live process holds this integration's run lock."""
    return lease_held(run_lock_name(integration_id, scope))


# ---------------------------------------------------------------- reclaiming what the dead left behind


@dataclass(frozen=True)
class Holder:
    """What a reclaimed lease said about its holder (kept after the row is gone)."""

    name: str
    holder: str
    machine: str | None
    pid: int | None
    renewed_at: dt.datetime | None


def snapshot(lease: Lease) -> Holder:
    return Holder(lease.name, lease.holder, lease.machine, lease.pid, lease.renewed_at)


NEXT_STEP = {
    "pull": "The next pull reads the same days again.",
    "push": "Conversions it had not recorded as sent stay queued and go out with the next push.",
}


def _interruption(kind: str, holder: Holder | None, why: str, now: dt.datetime) -> str:
    who = f" ({holder.machine.split('|', 1)[0]}, pid {holder.pid})" if holder and holder.machine else ""
    seen = f" Last sign of life {holder.renewed_at:%Y-%m-%d %H:%M:%S} UTC." if holder and holder.renewed_at else ""
    return (
        f"Interrupted: the process running this {kind}{who} stopped before it finished: {why}.{seen} "
        f"Closed at {now:%Y-%m-%d %H:%M:%S} UTC by pid {os.getpid()}. {NEXT_STEP.get(kind, '')}"
    ).strip()


def interrupt(session: Session, runs: list[SyncRun], holder: Holder | None, why: str, now: dt.datetime) -> int:
    """Close still-running runs as interrupted (a run that closed meanwhile is left as it closed)."""
    closed = 0
    for run in runs:
        ended = max(run.started_at, holder.renewed_at) if holder and holder.renewed_at else now
        closed += session.exec(
            update(SyncRun)
            .where(col(SyncRun.id) == run.id, col(SyncRun.status) == RunStatus.RUNNING)
            .values(
                status=RunStatus.INTERRUPTED,
                finished_at=min(ended, now),
                progress_level=None,
                error=_interruption(run.kind, holder, why, now),
            )
        ).rowcount
    session.commit()
    if closed:
        log.warning("closed %d run(s) as interrupted: %s", closed, why)
    return closed


def interrupt_runs_of(holder: Holder, why: str, now: dt.datetime) -> int:
    with session_scope() as session:
        running = list(
            session.exec(
                select(SyncRun).where(SyncRun.status == RunStatus.RUNNING, SyncRun.holder == holder.holder)
            ).all()
        )
        return interrupt(session, running, holder, why, now) if running else 0
