"""The scheduler (services/scheduler.py): jobs from the database, restarts, reschedule, leadership."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import update
from sqlmodel import select

from routy_app.config import reload_settings
from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus, SyncRun
from routy_app.services import connections, runs, scheduler as sched
from routy_app.services.scheduler import DbLease, SyncScheduler, leader_lock, pull_job_id
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
    _set(google, last_sync_at=last)
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
        assert snapshot(second) == before == {pull_job_id(google): dt.timedelta(minutes=60),
                                              pull_job_id(meta): dt.timedelta(minutes=30)}
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
        connections.set_paused(google, True)
        assert not scheduler.reschedule(google)
        assert pull_job_id(google) not in scheduler.jobs()
        connections.set_paused(google, False)
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
            creds = connections.load_credentials(session.get(Integration, google))
        small.tokens.revoke(creds.refresh_token)
        scheduler.run_soon(google)
        await _until(lambda: pull_job_id(google) not in scheduler.jobs())
        with session_scope() as session:
            assert session.get(Integration, google).status == IntegrationStatus.RECONNECT_REQUIRED
    finally:
        scheduler.shutdown()


def _runs(integration_id: int, status: str) -> int:
    with session_scope() as session:
        return len(session.exec(select(SyncRun).where(SyncRun.integration_id == integration_id,
                                                      SyncRun.status == status)).all())


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


def test_runs_left_running_by_a_dead_process_are_closed(db):
    with session_scope() as session:
        integration = Integration(traffic_source_id=1, provider="google_ads", status="active", account_id="1")
        session.add(integration)
        session.commit()
        iid = integration.id
    dead = runs.open_run(iid, "pull", "schedule")
    assert runs.close_stale_runs() == 1
    with session_scope() as session:
        assert session.get(SyncRun, dead).status == "failed"
    with runs.run_lock(iid):
        alive = runs.open_run(iid, "pull", "manual")
        assert runs.close_stale_runs() == 0
    runs.close_run(alive, "success")


@sqlite_only
async def test_lifespan_leads_and_stops(db, monkeypatch):
    async with sched.scheduler_lifespan():
        await _until(lambda: sched.current_scheduler() is not None)
        assert sched.current_scheduler().running
        with leader_lock(db) as other_process:
            assert not other_process
    assert sched.current_scheduler() is None


async def test_lifespan_honours_scheduler_disabled(db, monkeypatch):
    monkeypatch.setenv("ROUTY_SCHEDULER_ENABLED", "false")
    reload_settings()
    async with sched.scheduler_lifespan():
        await asyncio.sleep(0)
        assert sched.current_scheduler() is None
