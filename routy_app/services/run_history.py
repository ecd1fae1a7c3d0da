"""Sync History: every pull and push attempt of an integration, newest first, paginated in SQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from routy_app.models import Integration, SyncRun
from routy_app.providers import registry
from routy_app.services import run_progress
from routy_app.services.catalog import RUN_STATUS_COLORS
from routy_app.services.run_errors import summarise
from routy_app.services.wording import number
from routy_app.timeutil import utcnow

TRIGGER_LABELS = {"schedule": "Scheduled", "manual": "Manual", "full": "Full sync", "test": "Test", "resume": "Resume"}


@dataclass(frozen=True)
class RunRow:
    id: int
    started: str
    duration: str
    kind: str
    trigger: str
    status: str
    status_color: str
    read: int
    inserted: int
    updated: int
    failed: int
    level: str
    error: str
    read_text: str = ""  # the counts as the rest of the app writes numbers: 203,400
    inserted_text: str = ""
    updated_text: str = ""
    failed_text: str = ""
    error_summary: str = ""  # the error in one line (services/run_errors.py); `error` keeps every word


def _duration(run: SyncRun) -> str:
    end = run.finished_at or utcnow()
    seconds = max(0.0, (end - run.started_at).total_seconds())
    text = f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return text + ("…" if run.finished_at is None else "")


def page(session: Session, integration_id: int, page_number: int = 1, page_size: int = 20) -> tuple[list[RunRow], int]:
    total = int(
        session.exec(select(func.count()).select_from(SyncRun).where(SyncRun.integration_id == integration_id)).one()
    )
    integration = session.get(Integration, integration_id)
    definition = registry.find(integration.provider) if integration else None
    labels = {str(k): v for k, v in definition.level_labels.items()} if definition else {}
    runs = session.exec(
        select(SyncRun)
        .where(SyncRun.integration_id == integration_id)
        .order_by(col(SyncRun.started_at).desc(), col(SyncRun.id).desc())
        .offset(max(0, page_number - 1) * page_size)
        .limit(page_size)
    ).all()
    rows = [
        RunRow(
            id=int(r.id or 0),
            started=r.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            duration=_duration(r),
            kind=r.kind.capitalize(),
            trigger=TRIGGER_LABELS.get(r.trigger, r.trigger),
            status=r.status,
            status_color=RUN_STATUS_COLORS.get(r.status, "gray"),
            read=r.records_read,
            inserted=r.records_inserted,
            updated=r.records_updated,
            failed=r.records_failed,
            level=r.progress_level or "",
            error="\n".join(summary.details) if summary.details else "",
            read_text=number(r.records_read),
            inserted_text=number(r.records_inserted),
            updated_text=number(r.records_updated),
            failed_text=number(r.records_failed),
            error_summary=summary.summary,
        )
        for r in runs
        for summary in [summarise(r.error or "", labels, at=r.finished_at or r.started_at)]
    ]
    return rows, total


def level_percent(provider: str, level: str | None) -> int:
    """Share of the provider's pull levels finished before `level` (Sync Now's progress bar)."""
    definition = registry.find(provider)
    levels = definition.levels if definition else ()
    if level is None or level not in levels:
        return 0
    return int(100 * levels.index(level) / len(levels))


def progress_text(provider: str, level: str | None, rows: int) -> str:
    """Sync Now's progress line: "Starting…", then "Pulling ad groups: 1,234 rows so far"."""
    definition = registry.find(provider)
    if level is None or definition is None or level not in definition.levels:
        return f"Starting: {number(rows)} rows so far"
    label = str(definition.level_labels.get(level, level)).lower()
    return f"Pulling {label}: {number(rows)} rows so far"


def level_breakdown(provider: str, per_level: dict[str, int]) -> str:
    """Rows per level read so far, in the provider's order: "campaigns 120 · ad groups 1,020"."""
    definition = registry.find(provider)
    if definition is None:
        return ""
    labels = definition.level_labels
    return " · ".join(
        f"{str(labels.get(level, level)).lower()} {number(per_level[level])}"
        for level in definition.levels
        if level in per_level
    )


def progress(
    provider: str, level: str | None, rows: int, previous: int | None, per_level: dict[str, int] | None = None
) -> tuple[int, str]:
    """The Sync page's bar (0-99) and text for a running pull: the bar moves by rows against the previous
    comparable run's size (services/run_progress.py); with no such run, by the levels already read. The
    text names the rows of each level read so far."""
    percent = run_progress.estimate_percent(rows, previous)
    text = progress_text(provider, level, rows)
    breakdown = level_breakdown(provider, per_level or {})
    if breakdown:
        text = f"{text}: {breakdown}"
    note = run_progress.estimate_note(rows, previous)
    return (level_percent(provider, level) if percent is None else percent), (f"{text} ({note})" if note else text)


def latest(session: Session, integration_id: int, kind: str = "pull") -> SyncRun | None:
    return session.exec(
        select(SyncRun)
        .where(SyncRun.integration_id == integration_id, SyncRun.kind == kind)
        .order_by(col(SyncRun.id).desc())
    ).first()
