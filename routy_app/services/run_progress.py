"""How far a running pull is: rows read so far against the size of the previous comparable run
(a full sync against the last full sync, any other pull against the last scheduled / manual one).

The card's status line and the Sync page's bar and text both come from here, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from routy_app.models import SyncRun
from routy_app.services.wording import number
from routy_app.statuses import RunStatus, RunTrigger

CAP = 99  # a run is never shown as done before it is


@dataclass(frozen=True)
class Estimate:
    rows: int
    previous: int | None  # rows of the previous comparable successful run (None: no such run)

    @property
    def percent(self) -> int | None:
        """rows / previous, capped at 99 %; None without a previous run to compare with."""
        return estimate_percent(self.rows, self.previous)

    @property
    def status_line(self) -> str:
        """The card's line: "Syncing… 42 %", or "Syncing… 1,234 rows" with nothing to compare with."""
        return syncing_line(self.rows, self.previous)


def estimate_percent(rows: int, previous: int | None) -> int | None:
    if previous is None or previous <= 0:
        return None
    return max(0, min(CAP, rows * 100 // previous))


def syncing_line(rows: int, previous: int | None) -> str:
    percent = estimate_percent(rows, previous)
    if percent is not None:
        return f"Syncing… {percent} %"
    if rows > 0:
        return f"Syncing… {number(rows)} row{'' if rows == 1 else 's'}"
    return "Syncing…"


def estimate_note(rows: int, previous: int | None) -> str:
    """The Sync page's addition to its progress text: "about 42 % of the previous sync's 2,900 rows"."""
    percent = estimate_percent(rows, previous)
    if percent is None or previous is None:
        return ""
    return f"about {percent} % of the previous sync's {number(previous)} rows"


def _comparable(trigger: str) -> list[str]:
    if trigger == RunTrigger.FULL:
        return [RunTrigger.FULL.value]
    return [RunTrigger.SCHEDULE.value, RunTrigger.MANUAL.value, RunTrigger.RESUME.value]


def previous_size(session: Session, run: SyncRun) -> int | None:
    """Rows read by the last successful pull of the same kind before `run` (None when there is none)."""
    previous = session.exec(
        select(SyncRun.records_read)
        .where(
            SyncRun.integration_id == run.integration_id,
            SyncRun.kind == run.kind,
            SyncRun.status == RunStatus.SUCCESS,
            col(SyncRun.trigger).in_(_comparable(run.trigger)),
            col(SyncRun.id) < (run.id or 0),
        )
        .order_by(col(SyncRun.id).desc())
    ).first()
    return int(previous) if previous else None


def estimate(session: Session, run: SyncRun) -> Estimate:
    return Estimate(rows=run.records_read, previous=previous_size(session, run))
