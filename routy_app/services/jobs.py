"""The periodic jobs the in-process scheduler runs besides the per-integration pulls."""

from __future__ import annotations

from routy_app.services import push, scheduler

PUSH_EVERY_SECONDS = 60  # "within a minute of new conversions arriving"


def _install(sync_scheduler: scheduler.SyncScheduler) -> None:
    async def push_all() -> None:
        await push.push_due_all(sync_scheduler.hub)

    sync_scheduler.add_interval_job("push:all", push_all, PUSH_EVERY_SECONDS)


def install() -> None:
    """Register the push job to be added whenever this process becomes the scheduler leader."""
    scheduler.on_scheduler_start(_install)
