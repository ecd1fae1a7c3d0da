"""Two app instances on one database (real processes): a schedule, pause, resume or disconnect saved on any
instance reaches the scheduler leader within 30 s (issue 18, item 5), and a second instance takes over
leadership when the first dies.

The changes are saved by the test process, which holds no scheduler: exactly what the Settings dialog of
an instance that is not the leader does (tests/e2e/test_instances.py does it through a browser).
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import update
from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import Integration, SyncRun
from routy_app.services import integrations, leases
from routy_app.services.integrations import sync_settings
from routy_app.services.pull import run_pull
from routy_app.timeutil import utcnow
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture
from tests.integration.processes import app_processes, served_sandbox, until  # noqa: F401 - fixtures

TARGET = 30  # seconds from saving a change to the leader acting on it


def _pulls(integration_id: int) -> list[SyncRun]:
    with session_scope() as session:
        return list(
            session.exec(
                select(SyncRun)
                .where(SyncRun.integration_id == integration_id, SyncRun.kind == "pull")
                .order_by(SyncRun.id)
            ).all()
        )


def _pulled_ago(integration_id: int, minutes: int) -> None:
    with session_scope() as session:
        session.exec(
            update(Integration)
            .where(Integration.id == integration_id)
            .values(last_pull_at=utcnow() - dt.timedelta(minutes=minutes))
        )
        session.commit()


def _settings(schedule: int) -> dict[str, str]:
    return {"direction": "bidirectional", "schedule_minutes": str(schedule), "lookback_days": "7", "history_days": "90"}


async def test_changes_saved_on_any_instance_reach_the_leader(hub, sandbox_state, served_sandbox, app_processes):
    google = await connected_integration(hub, "google_ads")
    await run_pull(hub, google, "manual")
    sync_settings.save(google, _settings(1440))  # daily, last pulled 20 minutes ago
    _pulled_ago(google, 20)
    leader = app_processes()
    await until(lambda: "this process leads" in leader.log_tail(), 30, "the first instance leading", leader.log_tail)
    other = app_processes()
    await until(
        lambda: other.alive() and "waiting to lead" in other.log_tail(),
        30,
        "the second instance waiting",
        other.log_tail,
    )
    timings = {}

    async def leader_pulls(what: str) -> None:
        before = len(_pulls(google))
        saved = time.monotonic()
        await until(
            lambda: any(r.status == "success" for r in _pulls(google)[before:]),
            TARGET,
            f"the leader pulling after {what}",
            leader.log_tail,
        )
        timings[what] = time.monotonic() - saved
        assert f":{leader.pid}:" in _pulls(google)[-1].holder  # the leader ran it, not the test or the other

    sync_settings.save(google, _settings(15))  # every 15 minutes: overdue since 5 minutes
    await leader_pulls("a schedule change")

    integrations.set_paused(google, True)
    await until(
        lambda: f"integration {google} no longer pulls" in leader.log_tail(),
        TARGET,
        "the leader dropping the paused integration's job",
        leader.log_tail,
    )
    _pulled_ago(google, 20)
    integrations.set_paused(google, False)  # resumed, overdue
    await leader_pulls("a resume")

    leader.kill()  # the other instance takes over and follows changes too
    await until(lambda: "this process leads" in other.log_tail(), 30, "the second instance leading", other.log_tail)
    leader = other
    _pulled_ago(google, 20)  # e.g. the schedule was every hour; now every 15 minutes
    await leader_pulls("a change after a failover")

    await until(lambda: not leases.is_running(google), 30, "the pull's lock released")  # it closes the run first
    assert "disconnected" in await integrations.disconnect(hub, google)
    await until(
        lambda: f"integration {google} no longer pulls" in leader.log_tail(),
        TARGET,
        "the leader dropping the disconnected integration's job",
        leader.log_tail,
    )
    print("\nchange -> leader acting: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
