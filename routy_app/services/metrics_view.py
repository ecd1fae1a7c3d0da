"""Display values for the Metrics tab (formatted money, ratios, labels), built from metrics_queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from routy_app.models import Direction, Integration
from routy_app.providers import registry
from routy_app.services import metrics_queries as mq
from routy_app.services import scheduler
from routy_app.services.pull import clock as pull_clock
from routy_app.timeutil import utcnow

CHILD_LEVELS = {"campaign": ("ad_group",), "ad_group": ("ad", "keyword")}


def money(micros: int | None, currency: str) -> str:
    if micros is None:
        return "–"
    return f"{Decimal(micros) / 1_000_000:,.2f} {currency}".strip()


def count(micros: int) -> str:
    """Conversions are fractional counts stored as micros."""
    value = Decimal(micros) / 1_000_000
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


@dataclass(frozen=True)
class Tile:
    label: str
    value: str


@dataclass(frozen=True)
class ChartPoint:
    date: str
    cost: float  # chart axis values only; stored money stays integer micros
    clicks: int


@dataclass(frozen=True)
class TableRow:
    id: str
    name: str
    campaign_id: str
    ad_group_id: str
    impressions: str
    clicks: str
    ctr: str
    cost: str
    cpc: str
    conversions: str
    cost_per_conversion: str


def level_labels(provider: str) -> dict[str, str]:
    return {str(level): label for level, label in registry.get(provider).level_labels.items()}


def child_levels(provider: str, level: str) -> list[str]:
    levels = registry.get(provider).levels
    return [child for child in CHILD_LEVELS.get(level, ()) if child in levels]


def tiles(
    session: Session,
    integration_id: int,
    start: dt.date,
    end: dt.date,
    currency: str,
    scope: dict[str, str] | None = None,
) -> list[Tile]:
    s = mq.summary(session, integration_id, start, end, scope)
    cur = s.currency or currency
    return [
        Tile("Impressions", f"{s.impressions:,}"),
        Tile("Clicks", f"{s.clicks:,}"),
        Tile("Cost", money(s.cost_micros, cur)),
        Tile("CTR", f"{s.ctr * 100:.2f} %"),
        Tile("CPC", money(s.cpc_micros, cur)),
        Tile("Conversions", count(s.conversions_micros)),
        Tile("Cost / conversion", money(s.cost_per_conversion_micros, cur)),
    ]


def chart(
    session: Session, integration_id: int, start: dt.date, end: dt.date, scope: dict[str, str] | None = None
) -> list[ChartPoint]:
    return [
        ChartPoint(p.date.isoformat(), float(Decimal(p.cost_micros) / 1_000_000), p.clicks)
        for p in mq.daily_series(session, integration_id, start, end, scope)
    ]


def table(
    session: Session,
    integration_id: int,
    level: str,
    start: dt.date,
    end: dt.date,
    parent: dict[str, str],
    sort_by: str,
    descending: bool,
    page: int,
    page_size: int,
    currency: str,
) -> tuple[list[TableRow], int]:
    result = mq.breakdown(
        session, integration_id, level, start, end, parent or None, sort_by, descending, page, page_size
    )
    rows = [
        TableRow(
            id=r.id,
            name=r.name or r.id,
            campaign_id=r.campaign_id,
            ad_group_id=r.ad_group_id,
            impressions=f"{r.impressions:,}",
            clicks=f"{r.clicks:,}",
            ctr=f"{r.ctr * 100:.2f} %",
            cost=money(r.cost_micros, currency),
            cpc=money(r.cpc_micros, currency),
            conversions=count(r.conversions_micros),
            cost_per_conversion=money(r.cost_per_conversion_micros, currency),
        )
        for r in result.rows
    ]
    return rows, result.total_rows


@dataclass(frozen=True)
class MetricsContext:
    """What the Metrics tab needs of its integration besides the rows."""

    provider: str
    currency: str
    empty_text: str


def context(session: Session, integration_id: int) -> MetricsContext | None:
    integration = session.get(Integration, integration_id)
    if integration is None:
        return None
    leader = scheduler.current_scheduler()
    next_run = leader.jobs().get(scheduler.pull_job_id(integration_id)) if leader else None
    return MetricsContext(integration.provider, integration.account_currency or "", empty_text(integration, next_run))


def empty_text(integration: Integration, next_run: dt.datetime | None) -> str:
    """What the Metrics tab says when there is nothing to show for the dates."""
    definition = registry.get(integration.provider)
    if integration.direction == Direction.PUSH and definition.pull_setup_hint:
        return f"This {definition.name} integration only receives conversions; {definition.pull_setup_hint}."
    return "No metrics for these dates yet. " + next_sync_text(integration, next_run)


def next_sync_text(integration: Integration, next_run: dt.datetime | None) -> str:
    """When the next scheduled pull runs, for the empty state."""
    if next_run is None:
        next_run = pull_clock.next_pull_due(integration)
    if next_run is None or next_run <= utcnow():
        return "The first sync starts within a minute of connecting; use Sync Now to start it yourself."
    return f"The next sync runs at {next_run:%Y-%m-%d %H:%M} UTC; use Sync Now to run one right away."
