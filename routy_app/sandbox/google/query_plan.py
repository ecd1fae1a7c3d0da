"""Which rows a GAQL query yields from the emulated Google Ads world, addressable by row index.

Reports are computed row by row from an offset (rows are entity x day), so any page of a million-row
keyword report costs the same and nothing is kept between calls. The query's fields are checked here
against the catalog with the real `queryError` codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from routy_app.sandbox.core.state import SandboxConfig
from routy_app.sandbox.google import ads_data as gd
from routy_app.sandbox.google import ads_fields, gaql


class QueryPlan:
    """Which rows a validated query yields, addressable by row index (entity-major, then day)."""

    def __init__(self, query: gaql.Query, customer: gd.Customer, config: SandboxConfig) -> None:
        self.query = query
        self.seed = config.seed
        self.select = query.select
        self.resource = query.resource
        _validate_fields(query, customer)
        fields = set(query.select) | {c.field for c in query.where}
        self.needs_metrics = any(f.startswith("metrics.") for f in fields)
        self.by_date = "segments.date" in query.select
        start, end = gaql.date_range(query, gd.today_in(customer))
        if self.by_date and (start is None or end is None):
            raise gaql.GaqlError(
                "EXPECTED_FILTERS_ON_DATE_RANGE",
                "Error in query: a finite date range filter (BETWEEN or DURING) on segments.date is "
                "required when segments.date is selected.",
            )
        first, last = gd.history(customer, config)
        start, end = max(first, start or first), min(last, end or last)
        self.days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)] if start <= end else []
        self.day_slots: list[dt.date | None] = list(self.days) if self.by_date else [None]
        self.metric_conds = [c for c in query.where if c.field.startswith("metrics.")]
        entity_conds = [c for c in query.where if not c.field.startswith(("metrics.", "segments."))]
        self.tree = gd.EntityTree(customer, config)
        self._static: list[dict[str, Any]] | None = None
        if self.resource == "customer_client":
            self._static = gd.customer_client_rows(customer)
        elif self.resource == "conversion_action":
            self._static = [
                {**gd.customer_ctx(customer), **ctx} for ctx in gd.conversion_actions(config.seed, customer.id)
            ]
        if self._static is not None:
            self.entities: list[Any] | range = [r for r in self._static if _passes(entity_conds, r)]
        elif entity_conds:
            self.entities = [
                i
                for i in range(self.tree.count(self.resource))
                if _passes(entity_conds, self.tree.entity(self.resource, i)[1])
            ]
        else:
            self.entities = range(self.tree.count(self.resource))
        if self.by_date and not self.days:
            self.entities = []
        self._cache: tuple[Any, tuple[str, dict[str, Any]]] | None = None

    def _entity(self, e: Any) -> tuple[str, dict[str, Any]]:
        if isinstance(e, dict):
            return "", e
        if self._cache is None or self._cache[0] != e:
            self._cache = (e, self.tree.entity(self.resource, e))
        return self._cache[1]

    def _row(self, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """(entity fields, per-row fields: date and metrics) of the index-th row; kept apart to avoid copies."""
        slots = len(self.day_slots)
        key, ctx = self._entity(self.entities[index // slots])
        day = self.day_slots[index % slots]
        extra: dict[str, Any] = (
            gd.metrics_for(self.seed, key, self.resource, [day] if day else self.days) if self.needs_metrics else {}
        )
        if day is not None:
            extra["segments.date"] = day.isoformat()
        return ctx, extra

    def _raw_total(self) -> int:
        return len(self.entities) * len(self.day_slots)

    def _matching(self, start: int = 0) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        for index in range(start, self._raw_total()):
            ctx, extra = self._row(index)
            if _passes(self.metric_conds, extra):
                yield ctx, extra

    def total(self) -> int:
        if self.metric_conds:
            count = sum(1 for _ in self._matching())
        else:
            count = self._raw_total()
        return min(count, self.query.limit) if self.query.limit else count

    def page(self, offset: int, size: int) -> tuple[list[dict[str, Any]], bool]:
        """Rows [offset, offset+size) as REST JSON, and whether more rows follow."""
        limit = self.query.limit
        if self.metric_conds:
            rows: list[dict[str, Any]] = []
            more = False
            for n, (ctx, extra) in enumerate(self._matching()):
                if limit and n >= limit:
                    break
                if n < offset:
                    continue
                if len(rows) == size:
                    more = True
                    break
                rows.append(ads_fields.to_json(ctx, self.select, self.resource, extra))
            return rows, more
        total = self._raw_total() if not limit else min(limit, self._raw_total())
        stop = min(offset + size, total)
        pairs = (self._row(i) for i in range(offset, stop))
        return [ads_fields.to_json(ctx, self.select, self.resource, extra) for ctx, extra in pairs], stop < total

    def field_mask(self) -> str:
        return ",".join(ads_fields.camel_path(f) for f in self.select)


def _passes(conds: list[gaql.Condition], ctx: dict[str, Any]) -> bool:
    return all(gaql.matches(c, ctx.get(c.field)) for c in conds)


def _validate_fields(query: gaql.Query, customer: gd.Customer) -> None:
    if query.resource not in ads_fields.RESOURCES:
        raise gaql.GaqlError(
            "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
            f"Error in query: '{query.resource}' is not a supported resource in the FROM clause.",
        )
    allowed, metrics_ok = ads_fields.RESOURCES[query.resource]
    clauses = (
        [("SELECT", f) for f in query.select]
        + [("WHERE", c.field) for c in query.where]
        + [("ORDER_BY", f) for f, _ in query.order_by]
    )
    for clause, fname in clauses:
        if fname not in ads_fields.FIELDS:
            raise gaql.GaqlError("UNRECOGNIZED_FIELD", f"Error in query: unrecognized field '{fname}'.")
        res = ads_fields.resource_of(fname)
        if res in ("metrics", "segments"):
            if not metrics_ok:
                code = (
                    "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"
                    if res == "metrics"
                    else "PROHIBITED_SEGMENT_IN_SELECT_OR_WHERE_CLAUSE"
                )
                raise gaql.GaqlError(
                    code, f"Error in query: '{fname}' cannot be used with resource '{query.resource}'."
                )
            if res == "metrics" and customer.manager:
                raise gaql.GaqlError(
                    "REQUESTED_METRICS_FOR_MANAGER",
                    "Metrics cannot be requested for a manager account. To retrieve metrics, issue "
                    "separate requests against each client account under the manager account.",
                )
        elif res not in allowed:
            code = {
                "SELECT": "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
                "WHERE": "PROHIBITED_RESOURCE_TYPE_IN_WHERE_CLAUSE",
            }.get(clause, "PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE")
            raise gaql.GaqlError(
                code, f"Error in query: '{fname}' cannot be selected with resource '{query.resource}'."
            )
