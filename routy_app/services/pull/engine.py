"""The pull sync engine: stream a provider's daily metrics into MetricRow, level by level.

Why it looks like this:
- Pages are written as they arrive, one transaction per page, so memory stays flat for any
  account size and a crash loses at most the page in flight (the next run re-pulls the window).
- Rows are upserted by their natural key, so re-pulls (the lookback window, restated days)
  replace values and never duplicate.
- Force Full Sync re-pulls the whole history window and removes rows the provider no longer
  reports there: it writes every row with a fresh id (SQLite ``INSERT OR REPLACE``; PostgreSQL
  ``id = excluded.id``), so afterwards any row of the window whose id predates the run was not
  seen and is swept (mark-and-sweep by id: no extra column, no key set in memory).
- Every run is a SyncRun row (running first, closed with counts and the provider's words) under
  the integration's pull lease (services/leases.py), so two pulls of one integration never overlap
  (a push may run beside it: it holds another lease and writes other tables).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from routy_app.db import session_scope
from routy_app.models import Direction, Integration, IntegrationStatus
from routy_app.providers import registry
from routy_app.providers.definition import Capability
from routy_app.providers.errors import AuthExpired, ProviderError, RateLimited
from routy_app.providers.protocols import MetricsSource, ability
from routy_app.providers.values import Account, Credentials, Level
from routy_app.services import integrations, leases, runs
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations.credentials import ConnectionProblem
from routy_app.services.pull import clock as pull_clock
from routy_app.services.pull.window import can_pull, pull_window, today_in
from routy_app.services.pull.writer import Writer
from routy_app.services.wording import sentence
from routy_app.statuses import RunStatus, RunTrigger
from routy_app.timeutil import utcnow

log = logging.getLogger("routy.pull")

PULL_STATUSES = (IntegrationStatus.ACTIVE, IntegrationStatus.NEEDS_ATTENTION)
PULL_DIRECTIONS = (Direction.PULL, Direction.BIDIRECTIONAL)


class _LockLost(Exception):
    """The run's lease was taken over mid-level (see leases.HeldLease.keep)."""


@dataclass
class RunSummary:
    """What a run did; the SyncRun row holds the same numbers."""

    run_id: int
    status: RunStatus  # success | partial | failed
    start: dt.date | None = None
    end: dt.date | None = None
    read: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0
    error: str | None = None
    failed_levels: list[str] = field(default_factory=list)
    write_seconds: float = 0.0  # time spent in DB writes (benchmarks separate it from fetching)
    total_seconds: float = 0.0

    @property
    def message(self) -> str:
        """One line for the UI after Sync Now."""
        counts = f"{self.read:,} rows read: {self.inserted:,} new, {self.updated:,} updated" + (
            f", {self.deleted:,} removed" if self.deleted else ""
        )
        window = f" for {self.start} to {self.end}" if self.start and self.end else ""
        took = f" in {self.total_seconds:.1f} s" if self.total_seconds else ""
        if self.status == RunStatus.SUCCESS:
            return f"Sync finished: {counts}{window}{took}."
        failed = f" Failed levels: {', '.join(self.failed_levels)}." if self.failed_levels else ""
        return f"Sync {self.status}: {counts}{window}.{failed} {self.error or ''}".strip()


@dataclass(frozen=True)
class _Plan:
    integration_id: int
    provider_key: str
    provider_name: str
    account: Account
    levels: tuple[Level, ...]
    start: dt.date
    end: dt.date
    full: bool


# ---------------------------------------------------------------- the run


def _load(integration_id: int) -> Integration:
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            raise runs.RunRefused("This integration no longer exists (it may have been disconnected).")
        return integration


def _advance_cursor(integration_id: int, end: dt.date) -> None:
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is not None:
            integration.metrics_cursor = end
            session.add(integration)
            session.commit()


def _rate_limit_text(name: str, exc: RateLimited) -> str:
    wait = (
        f" It asked to wait {int(exc.retry_after)} s; the next scheduled sync will try again."
        if exc.retry_after
        else " The next scheduled sync will try again."
    )
    return sentence(f"{name} rate limit reached: {integrations.describe_error(exc)}") + wait


async def _read_levels(
    provider: MetricsSource,
    creds: Credentials,
    plan: _Plan,
    summary: RunSummary,
    run_id: int,
    lease: leases.HeldLease,
    on_progress: Callable[[str, int], None] | None,
) -> list[str]:
    """Read every level of the plan page by page into MetricRow; returns the errors of failed levels.

    An AuthExpired stops the run (after recording the level as failed) and propagates to the door.
    """
    writer = Writer(plan.integration_id, plan.full)
    start, end, name = plan.start, plan.end, plan.provider_name
    errors: list[str] = []
    try:
        for level in plan.levels:
            if not lease.keep():
                errors.append(LOCK_LOST)
                summary.failed_levels.extend(lvl for lvl in plan.levels[plan.levels.index(level) :])
                break
            mark = await asyncio.to_thread(writer.max_id_now) if plan.full else 0
            before = await asyncio.to_thread(writer.count_window, level, start, end) if plan.full else 0
            level_read = 0
            refused: AuthExpired | None = None
            runs.update_progress(run_id, level, summary.read)
            try:
                async for page in provider.fetch_metrics(creds, plan.account, level, start, end):
                    inserted = await asyncio.to_thread(writer.write, page)
                    n = len(page)
                    del page  # not kept alive while the next page is fetched: memory stays one page
                    level_read += n
                    summary.read += n
                    summary.inserted += inserted
                    if not plan.full:
                        summary.updated += n - inserted
                    runs.update_progress(run_id, level, summary.read)
                    if on_progress is not None:
                        on_progress(level, summary.read)
                    if not lease.keep():  # another process may be writing this integration now
                        raise _LockLost()
            except AuthExpired as exc:
                refused = exc
                summary.failed_levels.append(level)
            except _LockLost:
                errors.append(LOCK_LOST)
                summary.failed_levels.append(level)
            except RateLimited as exc:
                errors.append(f"{level}: {_rate_limit_text(name, exc)}")
                summary.failed_levels.append(level)
            except ProviderError as exc:
                errors.append(f"{level}: {name} answered: {integrations.describe_error(exc)}")
                summary.failed_levels.append(level)
            if plan.full:  # counted for every level read, finished or not: read = new + updated
                unseen = await asyncio.to_thread(writer.count_window, level, start, end, mark)
                updated = max(0, before - unseen)
                summary.updated += updated
                summary.inserted += max(0, level_read - updated)
                if level not in summary.failed_levels:  # never sweep a level that did not finish
                    summary.deleted += await asyncio.to_thread(writer.sweep, level, start, end, mark)
            if refused is not None:
                raise refused  # the next levels would be refused too
            if LOCK_LOST in errors:
                break  # the next levels are another process's now
    finally:
        summary.write_seconds = writer.seconds
    return errors


async def run_pull(
    hub: ProviderHub,
    integration_id: int,
    trigger: RunTrigger = RunTrigger.MANUAL,
    on_progress: Callable[[str, int], None] | None = None,
    levels: Sequence[Level] | None = None,
) -> RunSummary:
    """Pull every supported level (or only `levels`) for the run's window and record the outcome.

    Raises RunRefused (paused, push-only, not set up) or leases.AlreadyRunning before any run row
    is written; every other outcome is a closed SyncRun and the returned summary.
    """
    integration = _load(integration_id)
    reason = can_pull(integration)
    if reason:
        raise runs.RunRefused(reason)
    async with leases.run_lock(integration_id) as lease:
        return await _locked_run(hub, integration_id, trigger, on_progress, lease, levels)


LOCK_LOST = (
    "Routy lost this integration's sync lock (this process went without renewing it for a minute) "
    "and stopped; the next sync reads the same days again."
)


async def _locked_run(
    hub: ProviderHub,
    integration_id: int,
    trigger: RunTrigger,
    on_progress: Callable[[str, int], None] | None,
    lease: leases.HeldLease,
    only: Sequence[Level] | None,
) -> RunSummary:
    started = time.perf_counter()
    integration = _load(integration_id)  # re-read under the lock
    started_at = utcnow()
    run_id = runs.open_run(integration_id, "pull", trigger, lease.holder)
    summary = RunSummary(run_id=run_id, status=RunStatus.FAILED)
    name = registry.display_name(integration.provider)
    try:
        try:
            async with integrations.provider_session(hub, integration_id) as (provider, creds, account):
                definition = registry.get(integration.provider)
                pullable = definition.can(Capability.PULL) and definition.can_pull(creds)
                levels = tuple(lvl for lvl in definition.levels if pullable and (only is None or lvl in only))
                if not levels:
                    summary.error = f"{name} pulling is not set up for this integration."
                    integrations.record_failure(integration_id, summary.error)
                    return summary
                today = today_in(integration.account_timezone)
                start, end = pull_window(integration, trigger == "full", today)
                summary.start, summary.end = start, end
                plan = _Plan(integration_id, integration.provider, name, account, levels, start, end, trigger == "full")
                errors = await _read_levels(
                    ability(provider, MetricsSource), creds, plan, summary, run_id, lease, on_progress
                )
        except AuthExpired as exc:  # the door marked it Reconnection Required
            summary.error = f"{name} refused the authorisation: {integrations.describe_error(exc)}"
            summary.status = RunStatus.PARTIAL if summary.read else RunStatus.FAILED
            return summary
        except (ConnectionProblem, ProviderError) as exc:  # the stored authorisation is gone, or its refresh failed
            summary.error = exc.message
            integrations.record_failure(integration_id, summary.error)
            return summary
        if errors:
            summary.error = "; ".join(errors)
            summary.status = RunStatus.PARTIAL if len(summary.failed_levels) < len(plan.levels) else RunStatus.FAILED
            integrations.record_failure(integration_id, summary.error)
            return summary
        summary.status = RunStatus.SUCCESS
        if only is None:  # a run of some levels only must not move the cursor past the others
            _advance_cursor(integration_id, plan.end)
        integrations.record_success(integration_id)
        return summary
    except Exception as exc:  # an engine bug or the database: close the run, then let it surface
        summary.status = RunStatus.FAILED
        summary.error = f"Sync stopped unexpectedly ({type(exc).__name__}: {exc})"
        log.exception("pull run %s of integration %s crashed", run_id, integration_id)
        integrations.record_failure(integration_id, summary.error)
        raise
    finally:
        summary.total_seconds = time.perf_counter() - started
        runs.close_run(
            run_id, summary.status, summary.read, summary.inserted, summary.updated, summary.failed, summary.error
        )
        pull_clock.mark_pulled(integration_id, started_at)
        log.info(
            "pull run %s of integration %s: %s, %d read, %d new, %d updated, %d removed in %.1f s",
            run_id,
            integration_id,
            summary.status,
            summary.read,
            summary.inserted,
            summary.updated,
            summary.deleted,
            summary.total_seconds,
        )
