"""The pull schedule's clock: when an integration's last pull started, and so when the next one is due.

Only pulls move it (pushes have their own every-minute job), so conversions flowing in and out never
postpone a scheduled pull, and restarts do not reset it: the scheduler derives every pull job's next run
from here (services/scheduler.py). A pull that was interrupted never finished, so it does not count.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlmodel import col

from routy_app.db import session_scope
from routy_app.models import Integration
from routy_app.timeutil import utcnow


def mark_pulled(integration_id: int, started_at: dt.datetime) -> None:
    """A pull that started at `started_at` has finished (whatever its outcome)."""
    with session_scope() as session:
        session.exec(update(Integration).where(col(Integration.id) == integration_id).values(last_pull_at=started_at))
        session.commit()


def interval(integration: Integration) -> dt.timedelta:
    return dt.timedelta(minutes=max(1, integration.schedule_minutes))


def next_pull_due(integration: Integration) -> dt.datetime | None:
    """Last pull + the schedule's interval; None when it never pulled (due at once)."""
    if integration.last_pull_at is None:
        return None
    return integration.last_pull_at + interval(integration)


def is_overdue(integration: Integration, now: dt.datetime | None = None) -> bool:
    due = next_pull_due(integration)
    return due is None or due <= (now or utcnow())
