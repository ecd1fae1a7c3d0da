"""Display values for the Metrics tab (formatted money, ratios, labels), built from metrics_queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from routy_app.models import Direction, Integration
from routy_app.providers import registry
from routy_app.providers.definition import AD_NETWORK_METRICS, ALL_METRICS, DEFAULT_METRIC_LABELS, Capability
from routy_app.services import metrics_queries as mq
from routy_app.services import scheduler
from routy_app.services.pull import clock as pull_clock
from routy_app.services.wording import number
from routy_app.timeutil import utcnow

CHILD_LEVELS = {"campaign": ("ad_group",), "ad_group": ("ad", "keyword")}


def money(micros: int | None, currency: str) -> str:
    if micros is None:
        return "–"
    return f"{Decimal(micros) / 1_000_000:,.2f} {currency}".strip()


def count(micros: int) -> str:
    """Conversions are fractional counts stored as micros: shown as `number` shows any count."""
    return number(Decimal(micros) / 1_000_000)


@dataclass(frozen=True)
class Tile:
    label: str
    value: str


@dataclass(frozen=True)
class ChartPoint:
    date: str
    cost: float  # chart axis values only; stored money stays integer micros
    clicks: int
    value: float = 0.0  # conversion value (GA4: revenue)


@dataclass(frozen=True)
class MetricsLayout:
    """Which metrics a provider reports, under which names, and what the chart draws."""

    columns: list[str]  # ALL_METRICS names, in order
    labels: dict[str, str]  # every ALL_METRICS name → its label for this provider
    detail_label: str  # a column beside the name ("" for none)
    bar_key: str  # ChartPoint field drawn as bars: cost, or value when the provider has no cost
    bar_label: str
    line_label: str
    default_sort: str  # a metrics_queries.SORTABLE key this provider has


def layout(provider: str) -> MetricsLayout:
    definition = registry.find(provider)
    columns = [m for m in (definition.metrics if definition else AD_NETWORK_METRICS) if m in ALL_METRICS]
    labels = {**DEFAULT_METRIC_LABELS, **(dict(definition.metric_labels) if definition else {})}
    bar = "cost" if "cost" in columns else "value"
    return MetricsLayout(
        columns=columns,
        labels=labels,
        detail_label=definition.detail_label if definition else "",
        bar_key=bar,
        bar_label=labels[bar],
        line_label=labels["clicks"],
        default_sort="cost_micros" if "cost" in columns else "clicks",
    )


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
    value: str = ""
    detail: str = ""  # the provider's second name column (MetricsLayout.detail_label)


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
    provider: str = "",
) -> list[Tile]:
    """The summary tiles of the metrics the provider reports (every ad-network one when none is named)."""
    s = mq.summary(session, integration_id, start, end, scope)
    cur = s.currency or currency
    shown = layout(provider)
    values = {
        "impressions": number(s.impressions),
        "clicks": number(s.clicks),
        "cost": money(s.cost_micros, cur),
        "ctr": f"{s.ctr * 100:.2f} %",
        "cpc": money(s.cpc_micros, cur),
        "conversions": count(s.conversions_micros),
        "value": money(s.conversion_value_micros, cur),
        "cost_per_conversion": money(s.cost_per_conversion_micros, cur),
    }
    order = ("impressions", "clicks", "cost", "ctr", "cpc", "conversions", "value", "cost_per_conversion")
    return [Tile(shown.labels[m], values[m]) for m in order if m in shown.columns]


def chart(
    session: Session, integration_id: int, start: dt.date, end: dt.date, scope: dict[str, str] | None = None
) -> list[ChartPoint]:
    return [
        ChartPoint(
            p.date.isoformat(),
            float(Decimal(p.cost_micros) / 1_000_000),
            p.clicks,
            float(Decimal(p.value_micros) / 1_000_000),
        )
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
            impressions=number(r.impressions),
            clicks=number(r.clicks),
            ctr=f"{r.ctr * 100:.2f} %",
            cost=money(r.cost_micros, currency),
            cpc=money(r.cpc_micros, currency),
            conversions=count(r.conversions_micros),
            cost_per_conversion=money(r.cost_per_conversion_micros, currency),
            value=money(r.conversion_value_micros, currency),
            detail=r.ad_group_name if level == "campaign" else "",
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
    if not definition.can(Capability.PULL):
        return f"{definition.name} only receives conversions: there are no metrics to pull."
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
