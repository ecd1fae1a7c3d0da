"""Sync runs: the SyncRun row every pull and push attempt writes (running first, closed with counts and the
provider's words), and the sweep that closes runs whose process died (see leases.py for who holds what).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlmodel import col, select

from routy_app.db import session_scope
from routy_app.errors import Refused
from routy_app.models import Lease, SyncRun, saved_id
from routy_app.observability.logs import bind_run
from routy_app.services.leases import dead_reason, interrupt, interrupt_runs_of, run_lock_name, snapshot, this_machine
from routy_app.statuses import RunStatus
from routy_app.timeutil import utcnow

log = logging.getLogger("routy.runs")


class RunRefused(Refused):
    """An integration cannot run now (paused, needs reconnecting, no account, direction excludes it): both
    engines raise it before writing any run row; `message` says what to do."""


def open_run(integration_id: int, kind: str, trigger: str, holder: str | None = None) -> int:
    """Write the running SyncRun row before any provider call; returns its id."""
    with session_scope() as session:
        run = SyncRun(
            integration_id=integration_id, kind=kind, trigger=trigger, status=RunStatus.RUNNING, holder=holder
        )
        session.add(run)
        session.commit()
    bind_run(saved_id(run), integration_id, kind)  # log lines of this task name the run
    return saved_id(run)


def update_progress(run_id: int, level: str | None, rows: int) -> None:
    """Record the level being read, rows read so far, and rows per level (the UI polls this row).

    `rows` counts the whole run; a level's rows are what it added since the levels before it finished."""
    with session_scope() as session:
        run = session.get(SyncRun, run_id)
        if run is None:
            return
        per_level = level_counts(run.level_rows)
        if level is not None:
            per_level[level] = max(0, rows - sum(n for name, n in per_level.items() if name != level))
        run.progress_level, run.records_read = level, rows
        run.level_rows = json.dumps(per_level) if per_level else None
        session.add(run)
        session.commit()


def level_counts(stored: str | None) -> dict[str, int]:
    """The run's rows per level ({} when none were recorded, or the text is not what we write)."""
    try:
        found = json.loads(stored) if stored else {}
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): int(v) for k, v in found.items() if isinstance(v, int) and not isinstance(v, bool)}


def close_run(
    run_id: int,
    status: RunStatus,
    read: int = 0,
    inserted: int = 0,
    updated: int = 0,
    failed: int = 0,
    error: str | None = None,
) -> None:
    """Close the run: success | partial | failed, with counts, finish time and error text."""
    with session_scope() as session:
        session.exec(
            update(SyncRun)
            .where(col(SyncRun.id) == run_id)
            .values(
                status=status,
                records_read=read,
                records_inserted=inserted,
                records_updated=updated,
                records_failed=failed,
                error=error,
                finished_at=utcnow(),
                progress_level=None,
            )
        )
        session.commit()


@dataclass(frozen=True)
class Reclaimed:
    leases: int
    runs: int


def reclaim_dead() -> Reclaimed:
    """Reclaim every lease whose holder is provably dead or expired, and close as interrupted every running
    run whose holder no longer holds a lease. Run by each process at start and by the leader every minute.

    Running runs are read before the leases: a run that starts meanwhile holds its lease before its row
    exists, so it cannot be taken for an orphan; one that ends meanwhile is left as it closed.
    """
    now = utcnow()
    with session_scope() as session:
        running = list(session.exec(select(SyncRun).where(SyncRun.status == RunStatus.RUNNING)).all())
        leases = list(session.exec(select(Lease)).all())
    reclaimed, runs_closed = 0, 0
    live: dict[str, Lease] = {}
    for lease in leases:
        why = dead_reason(lease, now)
        if why is None:
            live[lease.holder] = lease
            continue
        previous = snapshot(lease)
        with session_scope() as session:
            gone = session.exec(
                delete(Lease).where(
                    col(Lease.name) == lease.name,
                    col(Lease.holder) == lease.holder,
                )
            ).rowcount
            session.commit()
        if gone:
            reclaimed += 1
            runs_closed += interrupt_runs_of(previous, why, now)
    live_names = {lease.name for lease in live.values()}
    orphans = [run for run in running if run.holder not in live and not _legacy_alive(run, live_names)]
    if orphans:
        with session_scope() as session:
            runs_closed += interrupt(session, orphans, None, "it holds no lease any more", now)
    if reclaimed or runs_closed:
        log.info("reclaimed %d lease(s), closed %d interrupted run(s)", reclaimed, runs_closed)
    return Reclaimed(reclaimed, runs_closed)


def next_foreign_expiry() -> dt.datetime | None:
    """The soonest expiry of a lease this machine cannot check (held on another machine): when it may
    have to be reclaimed. Leases of this machine need no waiting: a dead holder here is seen at once."""
    with session_scope() as session:
        leases = session.exec(select(Lease.machine, Lease.expires_at)).all()
    here = this_machine()
    foreign = [expires for machine, expires in leases if machine != here]
    return min(foreign) if foreign else None


def _legacy_alive(run: SyncRun, live_names: set[str]) -> bool:
    """A run written before runs recorded their holder: alive while its integration's lock of its kind is."""
    if run.holder is not None:
        return False
    return run_lock_name(run.integration_id, "push" if run.kind == "push" else None) in live_names
