"""The periodic jobs the in-process scheduler runs besides the per-integration pulls."""

from __future__ import annotations

from routy_app.config import get_settings
from routy_app.services import push, scheduler

FIRST_PUSH_AFTER_SECONDS = 2  # a new leader sends what waited (e.g. while the app was down) at once


def _install(sync_scheduler: scheduler.SyncScheduler) -> None:
    async def push_all() -> None:
        await push.push_due_all(sync_scheduler.hub)

    every = get_settings().push_every_seconds  # "within a minute of new conversions arriving"
    sync_scheduler.add_interval_job("push:all", push_all, every, first_after=min(every, FIRST_PUSH_AFTER_SECONDS))


def install() -> None:
    """Register the push job to be added whenever this process becomes the scheduler leader."""
    scheduler.on_scheduler_start(_install)
