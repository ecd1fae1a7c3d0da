"""When and what a pull reads: today in the account's time zone, the window of days, and whether the
integration may pull at all now."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from routy_app.models import Direction, Integration, IntegrationStatus

PULL_STATUSES = (IntegrationStatus.ACTIVE, IntegrationStatus.NEEDS_ATTENTION)
PULL_DIRECTIONS = (Direction.PULL, Direction.BIDIRECTIONAL)


def today_in(timezone_name: str | None) -> dt.date:
    """Today in the account's time zone (providers report days in it)."""
    try:
        zone = zoneinfo.ZoneInfo(timezone_name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return dt.datetime.now(zone).date()


def pull_window(integration: Integration, full: bool, today: dt.date) -> tuple[dt.date, dt.date]:
    """[start, today]: the history window on a first or full run, else cursor - lookback days.

    The start never precedes the history window (a long-paused integration does not pull years).
    """
    history_start = today - dt.timedelta(days=max(1, integration.history_days) - 1)
    if full or integration.metrics_cursor is None:
        return history_start, today
    start = integration.metrics_cursor - dt.timedelta(days=max(0, integration.lookback_days))
    return min(max(start, history_start), today), today


def can_pull(integration: Integration) -> str | None:
    """None when the integration may pull now, else the reason shown to the user."""
    if integration.direction not in PULL_DIRECTIONS:
        return "This integration only pushes conversions; set its direction to Pull or Both to sync metrics."
    if integration.status == IntegrationStatus.PAUSED:
        return "Resume the integration to sync."
    if integration.status == IntegrationStatus.RECONNECT_REQUIRED:
        return "Reconnect the integration to sync (its authorisation was refused)."
    if integration.status == IntegrationStatus.PENDING_ACCOUNT or not integration.account_id:
        return "Pick an account before syncing."
    if integration.status not in PULL_STATUSES:
        return "This integration cannot sync in its current state."
    return None
