"""The read side of the Metrics tab: totals, a daily series and a sortable, paginated breakdown.

Everything is aggregated and paginated in SQL (the index ix_metricrow_integration_level_date
serves every query: integration + level + date range), so UI state only ever holds a page.
Totals and the series use the campaign level only: summing several levels would count each
click once per level.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Select, cast, func, select
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import Label
from sqlmodel import Session

from routy_app.models import MetricRow, table_of

T = table_of(MetricRow).c
LEVELS = ("campaign", "ad_group", "ad", "keyword")
TOTALS_LEVEL = "campaign"
PARENT_FILTERS = ("campaign_id", "ad_group_id")


@dataclass(frozen=True)
class Summary:
    impressions: int
    clicks: int
    cost_micros: int
    conversions_micros: int
    conversion_value_micros: int
    ctr: float  # clicks / impressions, 0..1
    cpc_micros: int | None  # None when there were no clicks
    cost_per_conversion_micros: int | None  # None when there were no conversions
    currency: str


@dataclass(frozen=True)
class DayPoint:
    date: dt.date
    cost_micros: int
    clicks: int
    value_micros: int = 0


@dataclass(frozen=True)
class BreakdownRow:
    id: str
    name: str
    campaign_id: str  # for drill-down from any level
    ad_group_id: str
    impressions: int
    clicks: int
    cost_micros: int
    conversions_micros: int
    conversion_value_micros: int
    ctr: float
    cpc_micros: int | None
    cost_per_conversion_micros: int | None
    ad_group_name: str = ""  # GA4 keeps the source / medium there at campaign level


@dataclass(frozen=True)
class BreakdownPage:
    rows: list[BreakdownRow]
    total_rows: int
    page: int
    page_size: int

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total_rows // self.page_size))


# (id column, name column) of each level's entity
ENTITY = {
    "campaign": ("campaign_id", "campaign_name"),
    "ad_group": ("ad_group_id", "ad_group_name"),
    "ad": ("ad_id", "ad_name"),
    "keyword": ("keyword_id", "keyword_text"),
}
SORTABLE = (
    "name",
    "impressions",
    "clicks",
    "cost_micros",
    "conversions_micros",
    "conversion_value_micros",
    "ctr",
    "cpc_micros",
    "cost_per_conversion_micros",
)


def _ratio(num: int, den: int) -> int | None:
    return None if not den else round(num / den)


def _per_conversion(cost_micros: int, conversions_micros: int) -> int | None:
    """Cost per conversion in micros; conversions are themselves micros (fractional counts)."""
    return None if not conversions_micros else round(cost_micros * 1_000_000 / conversions_micros)


def _where(integration_id: int, level: str, start: dt.date, end: dt.date) -> list[ColumnElement[bool]]:
    return [T.integration_id == integration_id, T.level == level, T.date >= start, T.date <= end]


def _sums() -> list[Label[Any]]:
    return [
        func.coalesce(func.sum(T.impressions), 0).label("impressions"),
        func.coalesce(func.sum(T.clicks), 0).label("clicks"),
        func.coalesce(func.sum(T.cost_micros), 0).label("cost_micros"),
        func.coalesce(func.sum(T.conversions_micros), 0).label("conversions_micros"),
        func.coalesce(func.sum(T.conversion_value_micros), 0).label("conversion_value_micros"),
    ]


def _scope_where(
    integration_id: int, start: dt.date, end: dt.date, scope: dict[str, str] | None
) -> list[ColumnElement[bool]]:
    """The rows that total a drill-down scope once: the account (campaign rows), one campaign (its
    campaign row) or one ad group (its ad group row); never several levels at once."""
    scope = scope or {}
    for key in scope:
        if key not in PARENT_FILTERS:
            raise ValueError(f"cannot filter by {key!r}")
    level = "ad_group" if scope.get("ad_group_id") else TOTALS_LEVEL
    return [*_where(integration_id, level, start, end), *(T[k] == v for k, v in scope.items() if v)]


def summary(
    session: Session, integration_id: int, start: dt.date, end: dt.date, scope: dict[str, str] | None = None
) -> Summary:
    """Totals for the date range (inclusive): the account's, or the drill-down scope's (`_scope_where`)."""
    row = session.execute(
        select(*_sums(), func.max(T.currency).label("currency")).where(*_scope_where(integration_id, start, end, scope))
    ).one()
    imp, clicks, cost, conv, value = (
        int(row.impressions),
        int(row.clicks),
        int(row.cost_micros),
        int(row.conversions_micros),
        int(row.conversion_value_micros),
    )
    return Summary(
        imp,
        clicks,
        cost,
        conv,
        value,
        ctr=(clicks / imp) if imp else 0.0,
        cpc_micros=_ratio(cost, clicks),
        cost_per_conversion_micros=_per_conversion(cost, conv),
        currency=row.currency or "",
    )


def daily_series(
    session: Session, integration_id: int, start: dt.date, end: dt.date, scope: dict[str, str] | None = None
) -> list[DayPoint]:
    """Cost and clicks per day of the account or drill-down scope (days without rows are absent)."""
    rows = session.execute(
        select(T.date, func.sum(T.cost_micros), func.sum(T.clicks), func.sum(T.conversion_value_micros))
        .where(*_scope_where(integration_id, start, end, scope))
        .group_by(T.date)
        .order_by(T.date)
    ).all()
    return [
        DayPoint(d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)), int(c or 0), int(k or 0), int(v or 0))
        for d, c, k, v in rows
    ]


def _breakdown_query(
    integration_id: int, level: str, start: dt.date, end: dt.date, parent_filter: dict[str, str] | None
) -> tuple[Select[Any], list[ColumnElement[bool]], str]:
    if level not in ENTITY:
        raise ValueError(f"unknown level {level!r}")
    id_col, name_col = ENTITY[level]
    conditions = _where(integration_id, level, start, end)
    for key, value in (parent_filter or {}).items():
        if key not in PARENT_FILTERS:
            raise ValueError(f"cannot filter by {key!r}")
        conditions.append(T[key] == value)
    sums = _sums()
    query = (
        select(
            T[id_col].label("id"),
            func.max(T[name_col]).label("name"),
            func.max(T.campaign_id).label("campaign_id"),
            func.max(T.ad_group_id).label("ad_group_id"),
            func.max(T.ad_group_name).label("ad_group_name"),
            *sums,
        )
        .where(*conditions)
        .group_by(T[id_col])
    )
    return query, conditions, id_col


def _sort_expr(sort_by: str) -> ColumnElement[Any]:
    """The SQL expression of a metric sort key ("name" is handled by the caller: it depends on the level)."""
    clicks = func.sum(T.clicks)
    expressions = {
        "impressions": func.sum(T.impressions),
        "clicks": clicks,
        "cost_micros": func.sum(T.cost_micros),
        "conversions_micros": func.sum(T.conversions_micros),
        "conversion_value_micros": func.sum(T.conversion_value_micros),
        "ctr": cast(clicks, Float) / func.nullif(func.sum(T.impressions), 0),
        "cpc_micros": cast(func.sum(T.cost_micros), Float) / func.nullif(clicks, 0),
        "cost_per_conversion_micros": cast(func.sum(T.cost_micros), Float)
        / func.nullif(func.sum(T.conversions_micros), 0),
    }
    return expressions[sort_by]  # the callers accept SORTABLE keys only


def _ordered(query: Select[Any], level: str, id_col: str, sort_by: str, descending: bool) -> Select[Any]:
    """ORDER BY the sort key (NULL ratios last in both directions), ties by entity id."""
    key = func.max(T[ENTITY[level][1]]) if sort_by == "name" else _sort_expr(sort_by)
    ordered = key.desc() if descending else key.asc()
    tiebreak = T[id_col].desc() if descending else T[id_col].asc()
    return query.order_by(key.is_(None), ordered, tiebreak)


def breakdown(
    session: Session,
    integration_id: int,
    level: str,
    start: dt.date,
    end: dt.date,
    parent_filter: dict[str, str] | None = None,
    sort_by: str = "cost_micros",
    descending: bool = True,
    page: int = 1,
    page_size: int = 25,
) -> BreakdownPage:
    """One page of the level's entities with summed metrics, sorted in SQL (ties by id)."""
    if sort_by not in SORTABLE:
        raise ValueError(f"cannot sort by {sort_by!r}")
    page, page_size = max(1, int(page)), max(1, min(500, int(page_size)))
    query, conditions, id_col = _breakdown_query(integration_id, level, start, end, parent_filter)
    total = int(session.execute(select(func.count(func.distinct(T[id_col]))).where(*conditions)).scalar() or 0)
    rows = session.execute(
        _ordered(query, level, id_col, sort_by, descending).limit(page_size).offset((page - 1) * page_size)
    ).all()
    return BreakdownPage([_row(r) for r in rows], total, page, page_size)


def _row(r: Any) -> BreakdownRow:
    imp, clicks, cost, conv = int(r.impressions), int(r.clicks), int(r.cost_micros), int(r.conversions_micros)
    return BreakdownRow(
        id=str(r.id),
        name=str(r.name or ""),
        campaign_id=str(r.campaign_id or ""),
        ad_group_id=str(r.ad_group_id or ""),
        impressions=imp,
        clicks=clicks,
        cost_micros=cost,
        conversions_micros=conv,
        conversion_value_micros=int(r.conversion_value_micros),
        ctr=(clicks / imp) if imp else 0.0,
        cpc_micros=_ratio(cost, clicks),
        cost_per_conversion_micros=_per_conversion(cost, conv),
        ad_group_name=str(getattr(r, "ad_group_name", "") or ""),
    )


CSV_HEADER = (
    "id",
    "name",
    "impressions",
    "clicks",
    "ctr_percent",
    "cost",
    "cpc",
    "conversions",
    "conversion_value",
    "cost_per_conversion",
    "currency",
)


def _units(micros: int | None) -> str:
    return "" if micros is None else str((Decimal(micros) / 1_000_000).quantize(Decimal("0.01")))


def csv_rows(
    session: Session,
    integration_id: int,
    level: str,
    start: dt.date,
    end: dt.date,
    parent_filter: dict[str, str] | None = None,
    sort_by: str = "cost_micros",
    descending: bool = True,
    currency: str = "",
) -> Iterator[tuple[str, ...]]:
    """The header, then every row of the breakdown (all pages, same order) as strings, streamed."""
    if sort_by not in SORTABLE:
        raise ValueError(f"cannot sort by {sort_by!r}")
    query, _, id_col = _breakdown_query(integration_id, level, start, end, parent_filter)
    yield CSV_HEADER
    result = session.execute(_ordered(query, level, id_col, sort_by, descending), execution_options={"yield_per": 1000})
    for r in result:
        row = _row(r)
        yield (
            row.id,
            row.name,
            str(row.impressions),
            str(row.clicks),
            f"{row.ctr * 100:.2f}",
            _units(row.cost_micros),
            _units(row.cpc_micros),
            _units(row.conversions_micros),
            _units(row.conversion_value_micros),
            _units(row.cost_per_conversion_micros),
            currency,
        )
