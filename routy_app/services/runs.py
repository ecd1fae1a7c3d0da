"""Sync run bookkeeping shared by the pull and push engines: the SyncRun row (opened as running
first, closed with counts and the provider's error text) and the per-integration run lock.

The lock is a row in the Lease table (name ``run:<integration_id>``) taken with an atomic
insert-or-take-if-expired, so it holds across processes and on PostgreSQL as well as SQLite.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import Lease, SyncRun
from routy_app.timeutil import utcnow

RUN_LOCK_TTL = dt.timedelta(minutes=15)  # a crashed process's lock expires; live runs renew it


class AlreadyRunning(Exception):
    """Another run of the same integration holds the lock."""

    def __init__(self, message: str = "A sync is already running for this integration.") -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------- SyncRun rows


def open_run(integration_id: int, kind: str, trigger: str) -> int:
    """Write the running SyncRun row before any provider call; returns its id."""
    with session_scope() as session:
        run = SyncRun(integration_id=integration_id, kind=kind, trigger=trigger, status="running")
        session.add(run)
        session.commit()
        return int(run.id)  # type: ignore[arg-type]


def update_progress(run_id: int, level: str | None, rows: int) -> None:
    """Record the level being read and rows read so far (the UI polls this row)."""
    with session_scope() as session:
        session.exec(update(SyncRun).where(SyncRun.id == run_id)  # type: ignore[arg-type]
                     .values(progress_level=level, records_read=rows))
        session.commit()


def close_run(run_id: int, status: str, read: int = 0, inserted: int = 0, updated: int = 0,
              failed: int = 0, error: str | None = None) -> None:
    """Close the run: success | partial | failed, with counts, finish time and error text."""
    with session_scope() as session:
        session.exec(update(SyncRun).where(SyncRun.id == run_id).values(  # type: ignore[arg-type]
            status=status, records_read=read, records_inserted=inserted, records_updated=updated,
            records_failed=failed, error=error, finished_at=utcnow(), progress_level=None))
        session.commit()


def latest_run(integration_id: int, kind: str | None = None) -> SyncRun | None:
    """The most recent run (of `kind` when given) for status display."""
    with session_scope() as session:
        query = select(SyncRun).where(SyncRun.integration_id == integration_id)
        if kind:
            query = query.where(SyncRun.kind == kind)
        return session.exec(query.order_by(SyncRun.started_at.desc(), SyncRun.id.desc())).first()  # type: ignore[attr-defined]


def close_stale_runs() -> int:
    """Runs left 'running' by a crashed process (no live run lock of their integration) are closed
    as failed; called when the scheduler starts."""
    now = utcnow()
    with session_scope() as session:
        running = session.exec(select(SyncRun).where(SyncRun.status == "running")).all()
        if not running:
            return 0
        live = session.exec(select(Lease.name).where(Lease.name.like("run:%"), Lease.expires_at > now)).all()  # type: ignore[attr-defined]
        held = {int(name.split(":")[1]) for name in live if name.split(":")[1].isdigit()}
        stale = [run.id for run in running if run.integration_id not in held]
        if stale:
            session.exec(update(SyncRun).where(SyncRun.id.in_(stale)).values(  # type: ignore[union-attr]
                status="failed", finished_at=now,
                error="The process running this sync stopped before it finished."))
            session.commit()
        return len(stale)


# ---------------------------------------------------------------- leases (run lock)


def holder_id() -> str:
    """A holder name unique to this process and call (host:pid:random)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def try_acquire_lease(name: str, holder: str, ttl: dt.timedelta) -> bool:
    """Atomically take `name` if it is free or expired (or already ours); True when we hold it."""
    now = utcnow()
    expires = now + ttl
    with session_scope() as session:
        taken = session.exec(update(Lease).where(  # type: ignore[arg-type]
            Lease.name == name, (Lease.expires_at < now) | (Lease.holder == holder))
            .values(holder=holder, expires_at=expires)).rowcount
        session.commit()
        if taken:
            return True
        try:
            session.add(Lease(name=name, holder=holder, expires_at=expires))
            session.commit()
            return True
        except IntegrityError:  # someone else holds it (unexpired)
            session.rollback()
            return False


def renew_lease(name: str, holder: str, ttl: dt.timedelta) -> bool:
    """Extend our lease; False when it was lost (expired and taken by someone else)."""
    with session_scope() as session:
        n = session.exec(update(Lease).where(Lease.name == name, Lease.holder == holder)  # type: ignore[arg-type]
                         .values(expires_at=utcnow() + ttl)).rowcount
        session.commit()
        return bool(n)


def release_lease(name: str, holder: str) -> None:
    with session_scope() as session:
        session.exec(delete(Lease).where(Lease.name == name, Lease.holder == holder))  # type: ignore[arg-type]
        session.commit()


def lease_held(name: str) -> bool:
    with session_scope() as session:
        lease = session.get(Lease, name)
        return lease is not None and lease.expires_at > utcnow()


def run_lock_name(integration_id: int, scope: str | None = None) -> str:
    """`run:<id>` (pull and push share it by default); a `scope` gives a separate lock."""
    return f"run:{integration_id}" if not scope else f"run:{integration_id}:{scope}"


@contextmanager
def run_lock(integration_id: int, ttl: dt.timedelta = RUN_LOCK_TTL, scope: str | None = None) -> Iterator[str]:
    """Hold the integration's run lock for the block; raises AlreadyRunning when taken.

    Shared by pull and push: never two runs of the same integration at once.
    Yields the holder id (pass it to `renew_run_lock` during long runs).
    """
    name = run_lock_name(integration_id, scope)
    holder = holder_id()
    if not try_acquire_lease(name, holder, ttl):
        raise AlreadyRunning()
    try:
        yield holder
    finally:
        release_lease(name, holder)


def renew_run_lock(integration_id: int, holder: str, ttl: dt.timedelta = RUN_LOCK_TTL,
                   scope: str | None = None) -> bool:
    return renew_lease(run_lock_name(integration_id, scope), holder, ttl)


def is_running(integration_id: int, scope: str | None = None) -> bool:
    """True while some process holds this integration's run lock."""
    return lease_held(run_lock_name(integration_id, scope))
