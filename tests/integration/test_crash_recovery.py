"""Crash recovery with real processes: an app process SIGKILLed mid-pull or mid-push, then started again.

What must hold (issue 18): the dead process's run is closed as "interrupted" (when and why), its lock no
longer blocks Sync Now, Disconnect or the outbox, and nothing waits for a 15-minute lock to expire. The
app processes run the app's real lifespan (tests/integration/app_worker.py) with short intervals; the
production defaults are covered by reasoning in services/leases.py and by benchmarks/recovery_bench.py.

Each test prints what it measured (run with -s to see it).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

from sqlmodel import select

from routy_app.config import reload_settings
from routy_app.db import session_scope
from routy_app.models import ConversionPush, Integration, Lease, SyncRun
from routy_app.services import integrations, leases, push, runs
from routy_app.services.pull import run_pull
from routy_app.services.push import schedule as push_schedule
from routy_app.services.scheduler import SyncScheduler
from routy_app.timeutil import utcnow
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture
from tests.integration.processes import ROOT, app_processes, served_sandbox, until  # noqa: F401 - fixtures
from tests.integration.test_push import ingest, mapped, statuses

TARGET_CLOSED = 60  # seconds after the restart: the dead run is closed and Sync Now works
TARGET_OUTBOX = 90  # seconds after the restart: the outbox moves again
REPORT_REQUEST = "googleAds:search"

CHILD_PULL = """
import asyncio, sys
from routy_app.services.hub import default_hub
from routy_app.services.pull import run_pull
asyncio.run(run_pull(default_hub(), int(sys.argv[1]), "manual"))
"""


def _runs(integration_id: int, kind: str) -> list[SyncRun]:
    with session_scope() as session:
        return list(
            session.exec(
                select(SyncRun)
                .where(SyncRun.integration_id == integration_id, SyncRun.kind == kind)
                .order_by(SyncRun.id)
            ).all()
        )


def _run(run_id: int) -> SyncRun:
    with session_scope() as session:
        return session.get(SyncRun, run_id)


def _running(integration_id: int, kind: str) -> SyncRun | None:
    return next((r for r in _runs(integration_id, kind) if r.status == "running"), None)


def _sent(integration_id: int) -> int:
    with session_scope() as session:
        return len(
            session.exec(
                select(ConversionPush.id).where(
                    ConversionPush.integration_id == integration_id, ConversionPush.status == "sent"
                )
            ).all()
        )


async def test_an_app_killed_mid_pull_has_its_run_closed_at_restart_and_pulls_again(
    hub, sandbox_state, served_sandbox, app_processes
):
    google = await connected_integration(hub, "google_ads")
    served_sandbox.gate.hold(REPORT_REQUEST, skip=1)  # the campaign level is written, the next is in flight
    first = app_processes()
    await until(served_sandbox.gate.held.is_set, 90, "the app's first scheduled pull in flight", first.log_tail)
    dead = _running(google, "pull")
    assert dead is not None and dead.records_read > 0

    killed = first.kill()
    served_sandbox.gate.release()
    second = app_processes()
    restarted = time.monotonic()
    await until(lambda: _run(dead.id).status != "running", TARGET_CLOSED, "the dead pull closed", second.log_tail)
    closed = time.monotonic()
    run = _run(dead.id)
    assert run.status == "interrupted", run.status
    assert f"pid {first.pid}" in run.error and "stopped" in run.error and run.finished_at is not None
    assert run.records_read == dead.records_read  # what it had done stays on record
    # the interrupted pull never completed, so the restarted app pulls again on its own
    await until(
        lambda: any(r.status == "success" for r in _runs(google, "pull")),
        TARGET_CLOSED,
        "a pull after the restart",
        second.log_tail,
    )
    synced = time.monotonic()
    assert (await run_pull(hub, google, "manual")).status == "success"  # and Sync Now works
    print(
        f"\nmid-pull kill: kill->run closed {closed - killed:.1f} s (restart->closed {closed - restarted:.1f} s), "
        f"kill->pulled again {synced - killed:.1f} s"
    )


async def test_sync_now_and_disconnect_work_at_once_after_the_syncing_process_died(hub, sandbox_state, served_sandbox):
    google = await connected_integration(hub, "google_ads")
    served_sandbox.gate.hold(REPORT_REQUEST, skip=1)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_PULL, str(google)],
        cwd=ROOT,
        env={**os.environ, "PUBLIC_URL": served_sandbox.url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await until(served_sandbox.gate.held.is_set, 60, "the pull in flight")
        dead = _running(google, "pull")
        child.kill()
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        served_sandbox.gate.release()
    assert leases.is_running(google) is False  # its lock is not "running": the holder is gone
    summary = await run_pull(hub, google, "manual")  # no "A sync is already running"
    assert summary.status == "success"
    assert _run(dead.id).status == "interrupted" and f"pid {child.pid}" in _run(dead.id).error
    assert "disconnected" in await integrations.disconnect(hub, google)


async def test_an_app_killed_mid_push_resumes_the_outbox_at_restart(hub, sandbox_state, served_sandbox, app_processes):
    integration_id, _ = await mapped(hub)
    with session_scope() as session:  # push only: this test is about the outbox
        integration = session.get(Integration, integration_id)
        integration.direction = "push"
        session.add(integration)
        session.commit()
    ingest(5000, gclid="Cj0-{i}")  # three Data Manager requests: 2,000 + 2,000 + 1,000
    answer_lost = sandbox_state.faults.add("datamanager.ingest", "answer_lost", seconds=300)
    first = app_processes()
    await until(answer_lost.in_effect.is_set, 90, "the app's push in flight", first.log_tail)
    dead = _running(integration_id, "push")
    assert dead is not None

    killed = first.kill()
    second = app_processes()
    restarted = time.monotonic()
    await until(lambda: _sent(integration_id) > 0, TARGET_OUTBOX, "the outbox moving", second.log_tail)
    moving = time.monotonic()
    await until(
        lambda: statuses(integration_id) == {"sent": 5000}, TARGET_OUTBOX, "the outbox drained", second.log_tail
    )
    run = _run(dead.id)
    assert run.status == "interrupted" and f"pid {first.pid}" in run.error
    received = sandbox_state.received["google_ads"]
    counted = [e for e in received if e["processingError"] != "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"]
    assert len(counted) == 5000  # the first request went out twice; Google counts each event once
    print(f"\nmid-push kill: kill->outbox moving {moving - killed:.1f} s (restart->moving {moving - restarted:.1f} s)")


async def test_pulls_keep_their_schedule_while_conversions_flow_and_the_app_restarts(
    hub, sandbox_state, served_sandbox, app_processes
):
    integration_id, _ = await mapped(hub)
    first = await run_pull(hub, integration_id, "schedule")
    # An hourly schedule whose last pull started 59 min 48 s ago: the next one is due in 12 s.
    due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=12)
    _backdate_pull(integration_id, first.run_id, due - dt.timedelta(hours=1))
    n = restarts = 0

    async def conversions_flow_through_a_life_of_the_app() -> None:
        nonlocal n, restarts
        ingest(20, start=n, gclid="Cj0-{i}")  # arrived while the app was down ...
        n += 20
        assert (await push.run_push(hub, integration_id, "manual")).sent == 20  # ... pushed by Push now elsewhere
        app = app_processes()
        ingest(20, start=n, gclid="Cj0-{i}")  # more arrive while it runs: its push job sends them
        n += 20
        await until(lambda: _sent(integration_id) == n, 70, "the app pushing", app.log_tail)
        # An app killed within seconds of every start could never pull: each life lasts until the pull,
        # once due, has run (and is not cut short).
        await until(
            lambda: (
                (dt.datetime.now(dt.UTC) < due or _pulled_since(integration_id, first.run_id))
                and _running(integration_id, "pull") is None
            ),
            60,
            "the due pull done",
            app.log_tail,
        )
        app.kill()
        restarts += 1

    while dt.datetime.now(dt.UTC) < due + dt.timedelta(seconds=10):
        await conversions_flow_through_a_life_of_the_app()
    pulls = [r for r in _runs(integration_id, "pull") if r.id != first.run_id]
    assert len(pulls) == 1, f"{len(pulls)} pulls after {restarts} restarts (due at {due:%H:%M:%S})"
    started = pulls[0].started_at
    assert due - dt.timedelta(seconds=1) <= started <= due + dt.timedelta(seconds=10), (started, due)
    for _ in range(3):  # and no other pull comes before its hour is up, however many pushes and restarts
        await conversions_flow_through_a_life_of_the_app()
    assert len([r for r in _runs(integration_id, "pull") if r.id != first.run_id]) == 1
    print(
        f"\nschedule: one pull at {started:%H:%M:%S} for {due:%H:%M:%S} across {restarts} restarts, "
        f"{n} conversions pushed"
    )


def _pulled_since(integration_id: int, first_run_id: int) -> bool:
    return any(r.id != first_run_id and r.status == "success" for r in _runs(integration_id, "pull"))


def _backdate_pull(integration_id: int, run_id: int, when: dt.datetime) -> None:
    """Time passes: the last pull (run and integration clock) happened at `when`."""
    with session_scope() as session:
        run = session.get(SyncRun, run_id)
        run.started_at, run.finished_at = when, when + dt.timedelta(seconds=1)
        integration = session.get(Integration, integration_id)
        integration.last_sync_at = when
        if hasattr(integration, "last_pull_at"):
            integration.last_pull_at = when
        session.add(run)
        session.add(integration)
        session.commit()


async def test_a_replica_that_died_on_another_machine_is_reclaimed_when_its_lease_expires(
    hub, sandbox_state, monkeypatch
):
    """Its pid means nothing here, so only the lease's expiry tells; the leader sweeps right after it
    (not at its next minute) and pushes what the dead replica held."""
    monkeypatch.setenv("ROUTY_PUSH_EVERY_SECONDS", "3600")  # the push seen here is the sweep's
    reload_settings()
    integration_id, _ = await mapped(hub)
    ingest(3, gclid="Cj0-{i}")
    expires = utcnow() + dt.timedelta(seconds=5)  # the first push job (2 s after start) finds it held
    with session_scope() as session:  # a push run of a replica on another host, last renewed 58 s ago
        session.add(
            Lease(
                name=leases.run_lock_name(integration_id, "push"),
                holder="far:4242:ab",
                expires_at=expires,
                renewed_at=expires - dt.timedelta(seconds=60),
                machine="far|boot|pid:[1]",
                pid=4242,
                pid_started=1.0,
            )
        )
        session.commit()
    dead = runs.open_run(integration_id, "push", "schedule", holder="far:4242:ab")
    leader = SyncScheduler(hub)
    push_schedule._install(leader)
    leader.start()
    try:
        await until(lambda: _run(dead).status != "running", 30, "the dead replica's run closed")
        closed = utcnow()
        await until(lambda: _sent(integration_id) == 3, 30, "the outbox moving")
        moving = utcnow()
    finally:
        leader.shutdown()
    run = _run(dead)
    assert run.status == "interrupted" and "stopped renewing its lease" in run.error and "pid 4242" in run.error
    assert closed - expires < dt.timedelta(seconds=5)  # not the next regular sweep (a minute later)
    print(
        f"\nanother machine: lease expiry->run closed {(closed - expires).total_seconds():.1f} s, "
        f"->outbox moving {(moving - expires).total_seconds():.1f} s"
    )
