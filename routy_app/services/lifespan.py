"""The app's lifespan: what every backend process runs beside the web UI (Reflex starts it in each
worker; tests run it in processes of their own, tests/integration/app_worker.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from routy_app.services import runs
from routy_app.services.alerts import job as alerts_job
from routy_app.services.leadership import scheduler_lifespan
from routy_app.services.push import schedule as push_schedule

log = logging.getLogger("routy.lifespan")


@contextlib.asynccontextmanager
async def app_lifespan() -> AsyncIterator[None]:
    """Reclaim what a crashed process left (its leases and running runs), register the periodic jobs,
    then lead (or wait to lead) the scheduler until the app stops."""
    try:
        await asyncio.to_thread(runs.reclaim_dead)
    except Exception:
        log.exception("reclaiming dead leases at start failed")
    push_schedule.install()
    alerts_job.install()
    async with scheduler_lifespan():
        yield
