"""The scheduler (services/scheduler.py): jobs from the database, restarts, reschedule, leadership."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import subprocess
import sys

import pytest
from sqlalchemy import update
from sqlmodel import select

from routy_app.config import reload_settings
from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus, Lease, SyncRun
from routy_app.services import integrations, leadership, leases, runs
from routy_app.services import scheduler as sched
from routy_app.services.leadership import DbLease, leader_lock
from routy_app.services.scheduler import SyncScheduler, pull_job_id
from routy_app.timeutil import utcnow
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture
from tests.markers import sqlite_only


@pytest.fixture
def small(sandbox_state):
    cfg = sandbox_state.config
    cfg.days, cfg.campaigns_per_account, cfg.ad_groups_per_campaign = 5, 1, 1
    cfg.ads_per_ad_group, cfg.keywords_per_ad_group = 1, 1
    return sandbox_state


def _set(integration_id: int, **values) -> None:
    with session_scope() as session:
        session.exec(update(Integration).where(Integration.id == integration_id).values(**values))
        session.commit()


async def _until(predicate, timeout: float = 10.0) -> None:
    """Wait for a condition (polling the event loop), failing after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def _three_integrations(hub) -> tuple[int, int, int]:
    google = await connected_integration(hub, "google_ads")
    meta = await connected_integration(hub, "meta_ads")
    ga4 = await connected_integration(hub, "ga4")  # no property ID: push only, no pull job
    return google, meta, ga4


async def test_rebuild_makes_one_pull_job_per_syncing_integration(hub, small):
    google, meta, ga4 = await _three_integrations(hub)
    _set(meta, schedule_minutes=15)
    scheduler = SyncScheduler(hub)
    scheduler.start()
    try:
        ids = scheduler.rebuild()
        assert ids == [pull_job_id(google), pull_job_id(meta)]
        jobs = scheduler.jobs()
        assert {"tokens:refresh", pull_job_id(google), pull_job_id(meta)} <= set(jobs)
        assert pull_job_id(ga4) not in jobs
        assert scheduler.interval_of(pull_job_id(meta)) == dt.timedelta(minutes=15)
        assert scheduler.interval_of(pull_job_id(google)) == dt.timedelta(minutes=60)
        assert scheduler.interval_of("tokens:refresh") == dt.timedelta(minutes=5)
        # never synced: due within seconds, staggered
        assert utcnow() < jobs[pull_job_id(google)] < jobs[pull_job_id(meta)] < utcnow() + dt.timedelta(seconds=30)
    finally:
        scheduler.shutdown()


async def test_jobs_are_rebuilt_from_the_database_after_a_restart(hub, small):
    google, meta, _ = await _three_integrations(hub)
    last = utcnow() - dt.timedelta(minutes=10)
    _set(google, last_pull_at=last)
    _set(meta, status=IntegrationStatus.NEEDS_ATTENTION, schedule_minutes=30)

    def snapshot(s: SyncScheduler) -> dict:
        return {job_id: s.interval_of(job_id) for job_id in s.jobs() if job_id.startswith("pull:")}

    first = SyncScheduler(hub)
    first.start()
    first.rebuild()
    before, google_next = snapshot(first), first.jobs()[pull_job_id(google)]
    first.shutdown()

    second = SyncScheduler(hub)
    second.start()
    try:
        second.rebuild()
        assert (
            snapshot(second)
            == before
            == {pull_job_id(google): dt.timedelta(minutes=60), pull_job_id(meta): dt.timedelta(minutes=30)}
        )
        # the clock survives the restart: next run = last sync + interval, both times
        expected = last + dt.timedelta(minutes=60)
        assert abs(second.jobs()[pull_job_id(google)] - expected) < dt.timedelta(seconds=1)
        assert abs(google_next - expected) < dt.timedelta(seconds=1)
    finally:
        second.shutdown()


async def test_reschedule_follows_schedule_and_status_changes_at_once(hub, small):
    google = await connected_integration(hub, "google_ads")
    scheduler = SyncScheduler(hub)
    scheduler.start()
    try:
        scheduler.rebuild()
        _set(google, schedule_minutes=240)
        assert scheduler.reschedule(google)
        assert scheduler.interval_of(pull_job_id(google)) == dt.timedelta(hours=4)
        integrations.set_paused(google, True)
        assert not scheduler.reschedule(google)
        assert pull_job_id(google) not in scheduler.jobs()
        integrations.set_paused(google, False)
        assert scheduler.reschedule(google)
        assert pull_job_id(google) in scheduler.jobs()
        _set(google, direction="push")
        assert not scheduler.reschedule(google) and pull_job_id(google) not in scheduler.jobs()
    finally:
        scheduler.shutdown()


async def test_a_scheduled_pull_runs_and_a_refused_authorisation_removes_the_job(hub, small):
    google = await connected_integration(hub, "google_ads")
    scheduler = SyncScheduler(hub)
    scheduler.start()
    try:
        scheduler.rebuild()
        assert scheduler.run_soon(google)
        await _until(lambda: _runs(google, "success") == 1)
        with session_scope() as session:
            run = session.exec(select(SyncRun).where(SyncRun.integration_id == google)).one()
            assert run.trigger == "schedule" and run.records_read == 4 * 5
        assert pull_job_id(google) in scheduler.jobs()

        with session_scope() as session:
            creds = integrations.load_credentials(session.get(Integration, google))
        small.tokens.revoke(creds.refresh_token)
        # A nudge that lands while the first run is still finishing is skipped (one instance per job), so
        # nudge again until the refused run removes the job.
        for _ in range(10):
            scheduler.run_soon(google)
            with contextlib.suppress(AssertionError):
                await _until(lambda: pull_job_id(google) not in scheduler.jobs(), timeout=3.0)
                break
        assert pull_job_id(google) not in scheduler.jobs()
        with session_scope() as session:
            assert session.get(Integration, google).status == IntegrationStatus.RECONNECT_REQUIRED
    finally:
        scheduler.shutdown()


def _runs(integration_id: int, status: str) -> int:
    with session_scope() as session:
        return len(
            session.exec(
                select(SyncRun).where(SyncRun.integration_id == integration_id, SyncRun.status == status)
            ).all()
        )


async def test_extra_interval_jobs_are_kept_across_start_and_run(hub):
    calls: list[int] = []

    async def tick() -> None:
        calls.append(1)

    scheduler = SyncScheduler(hub)
    scheduler.add_interval_job("push:all", tick, 30)
    scheduler.start()
    try:
        assert scheduler.interval_of("push:all") == dt.timedelta(seconds=30)
        assert calls == []
        assert scheduler.run_job_soon("push:all")
        await _until(lambda: calls == [1])
    finally:
        scheduler.shutdown()


def test_only_one_holder_of_the_file_leader_lock(tmp_path):
    with leader_lock(tmp_path) as first:
        assert first
        with leader_lock(tmp_path) as second:
            assert not second
    with leader_lock(tmp_path) as again:
        assert again


def test_db_lease_is_exclusive_until_released_or_expired(db):
    one, two = DbLease(), DbLease()
    assert one.acquire() and not two.acquire()
    assert one.renew() and one.acquire()  # re-taking our own lease is fine
    one.release()
    assert two.acquire() and not one.renew()
    short = DbLease("other", ttl=dt.timedelta(seconds=-1))
    assert short.acquire() and DbLease("other").acquire()  # an expired lease is taken over


def _integration_row() -> int:
    with session_scope() as session:
        integration = Integration(traffic_source_id=1, provider="google_ads", status="active", account_id="1")
        session.add(integration)
        session.commit()
        return int(integration.id)


def _lease(
    name: str, holder: str, *, machine: str | None, pid: int | None, started: float | None, expires_in: float = 60
) -> None:
    """A lease as another process would have written it."""
    now = utcnow()
    with session_scope() as session:
        session.add(
            Lease(
                name=name,
                holder=holder,
                expires_at=now + dt.timedelta(seconds=expires_in),
                renewed_at=now,
                machine=machine,
                pid=pid,
                pid_started=started,
            )
        )
        session.commit()


def _status(run_id: int) -> str:
    with session_scope() as session:
        return session.get(SyncRun, run_id).status


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_dead_holder_on_this_machine_is_reclaimed_at_once_and_its_runs_interrupted(db):
    iid = _integration_row()
    me = leases.current_process()
    _lease(leases.run_lock_name(iid), "dead", machine=me.machine, pid=_dead_pid(), started=me.started)
    dead = runs.open_run(iid, "pull", "schedule", holder="dead")
    assert not leases.is_running(iid)  # gone, though the lease has a minute left ...
    assert _status(dead) == "interrupted"  # ... and its run was closed on the way
    with session_scope() as session:
        run = session.get(SyncRun, dead)
        assert "the process is gone" in run.error and "pid" in run.error and run.finished_at is not None


def test_a_reused_pid_is_not_taken_for_the_holder(db):
    iid = _integration_row()
    me = leases.current_process()  # alive, but not the process that took the lease (another start time)
    _lease(leases.run_lock_name(iid), "old", machine=me.machine, pid=me.pid, started=me.started - 3600)
    run = runs.open_run(iid, "pull", "schedule", holder="old")
    assert leases.try_acquire_lease(leases.run_lock_name(iid), "new")
    assert _status(run) == "interrupted"


def test_a_holder_on_another_machine_is_reclaimed_only_when_its_lease_expires(db):
    iid = _integration_row()
    name = leases.run_lock_name(iid, "push")
    _lease(name, "far", machine="other-host|boot|pid:[1]", pid=_dead_pid(), started=1.0)
    run = runs.open_run(iid, "push", "schedule", holder="far")
    assert runs.reclaim_dead() == runs.Reclaimed(0, 0)  # its pid means nothing here
    assert leases.is_running(iid, "push") and not leases.try_acquire_lease(name, "me")
    with session_scope() as session:  # a minute without renewal
        session.exec(update(Lease).where(Lease.name == name).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        session.commit()
    assert runs.reclaim_dead() == runs.Reclaimed(1, 1)
    with session_scope() as session:
        assert "stopped renewing its lease" in session.get(SyncRun, run).error
    assert _status(run) == "interrupted" and leases.try_acquire_lease(name, "me")


def test_the_sweep_leaves_live_runs_alone_and_closes_orphans(db):
    iid = _integration_row()
    legacy = runs.open_run(iid, "push", "schedule")  # from before runs named their holder; no push lock held
    with leases.held_without_heartbeat(iid) as lease:
        alive = runs.open_run(iid, "pull", "manual", holder=lease.holder)
        orphan = runs.open_run(iid, "push", "schedule", holder="a-holder-without-a-lease")
        assert runs.reclaim_dead() == runs.Reclaimed(0, 2)
        assert _status(alive) == "running"
        runs.close_run(alive, "success")
    assert (_status(legacy), _status(orphan), _status(alive)) == ("interrupted", "interrupted", "success")
    assert runs.reclaim_dead() == runs.Reclaimed(0, 0)  # a run that closed normally stays as it closed


async def test_a_held_lease_is_renewed_in_the_background(db, monkeypatch):
    monkeypatch.setenv("ROUTY_LEASE_TTL_SECONDS", "0.3")
    reload_settings()
    iid = _integration_row()
    async with leases.run_lock(iid) as lease:
        with session_scope() as session:
            first = session.get(Lease, lease.name).expires_at
        await _until(lambda: _expiry(lease.name) > first + dt.timedelta(seconds=0.15))
        assert leases.is_running(iid) and not lease.lost
    assert not leases.is_running(iid)


def _expiry(name: str) -> dt.datetime:
    with session_scope() as session:
        return session.get(Lease, name).expires_at


@sqlite_only
async def test_lifespan_leads_and_stops(db, monkeypatch):
    async with leadership.scheduler_lifespan():
        await _until(lambda: sched.current_scheduler() is not None)
        assert sched.current_scheduler().running
        with leader_lock(db) as other_process:
            assert not other_process
    assert sched.current_scheduler() is None


async def test_lifespan_honours_scheduler_disabled(db, monkeypatch):
    monkeypatch.setenv("ROUTY_SCHEDULER_ENABLED", "false")
    reload_settings()
    async with leadership.scheduler_lifespan():
        await asyncio.sleep(0)
        assert sched.current_scheduler() is None
