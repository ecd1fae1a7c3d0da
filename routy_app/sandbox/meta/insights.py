"""Marketing API emulator: ad accounts, `act_{id}/insights` (sync and async report runs).

Why: Routy pulls daily campaign/ad set/ad metrics from Meta (PROVIDERS.md §2.2-2.4). Rows follow
the real wire format (every number a string, `spend` a decimal string, `actions`/`action_values`
arrays, `date_start`/`date_stop`, cursor paging with an absolute `paging.next`). Rows are computed
from their offset on the fly (sandbox/core/data.py), so a million-row report costs no memory here.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from routy_app.sandbox.core import data
from routy_app.sandbox.core.state import SandboxConfig, SandboxState
from routy_app.sandbox.meta import graph as g
from routy_app.sandbox.meta.sdk_fields import AD_ACCOUNT_FIELDS, ADS_INSIGHTS_FIELDS

LEVELS = ("account", "campaign", "adset", "ad")
ENTITY_FIELDS = {
    "account_id": "account",
    "account_name": "account",
    "campaign_id": "campaign",
    "campaign_name": "campaign",
    "adset_id": "adset",
    "adset_name": "adset",
    "ad_id": "ad",
    "ad_name": "ad",
}
METRIC_FIELDS = {
    "impressions",
    "clicks",
    "spend",
    "actions",
    "action_values",
    "ctr",
    "cpc",
    "cpm",
    "account_currency",
    "date_start",
    "date_stop",
}  # what the sandbox computes; other valid fields
# (any name in the SDK's AdsInsights.Field) are accepted and left out of the rows.
# Attribution windows Ads Insights no longer offers since 2026-01-12 (Meta developer blog, 2025-10-16,
# "Ads Insights API Metric Availability Updates").
REMOVED_ATTRIBUTION_WINDOWS = ("7d_view", "28d_view")
DEFAULT_FIELDS = ("impressions", "spend")
RUN_STEPS = (("Job Not Started", 0), ("Job Started", 0), ("Job Running", 50), ("Job Completed", 100))
ACCOUNT_FIELDS = ("id", "account_id", "name", "currency", "timezone_name", "account_status")


# ---------------------------------------------------------------- deterministic entities and metrics


@dataclass(frozen=True)
class Entity:
    """One row subject at a level; `weight` (its number of ads) scales its numbers."""

    ids: dict[str, tuple[str, str]]  # level -> (id, name), for this level and its parents
    key: str  # the entity's own id: its metrics are a pure function of (seed, key, day)
    weight: int = 1


def entities(cfg: SandboxConfig, account: g.AdAccount, level: str) -> list[Entity]:
    """The level's entities in a stable order (cached: size = campaigns x ad sets x ads at most)."""
    return _entities(
        cfg.seed, account, level, cfg.campaigns_per_account, cfg.ad_groups_per_campaign, cfg.ads_per_ad_group
    )


@functools.lru_cache(maxsize=64)
def _entities(seed: int, account: g.AdAccount, level: str, n_campaigns: int, n_adsets: int, n_ads: int) -> list[Entity]:
    acct = {"account": (account.account_id, account.name)}
    if level == "account":
        return [Entity(acct, account.account_id, n_campaigns * n_adsets * n_ads)]
    out: list[Entity] = []
    for c in range(n_campaigns):
        campaign = (
            data.entity_id(seed, "meta", account.account_id, "campaign", c, digits=17),
            f"Campaign {c + 1} - {account.name}",
        )
        if level == "campaign":
            out.append(Entity({**acct, "campaign": campaign}, campaign[0], n_adsets * n_ads))
            continue
        for s in range(n_adsets):
            adset = (
                data.entity_id(seed, "meta", account.account_id, "adset", c, s, digits=17),
                f"Ad set {c + 1}.{s + 1}",
            )
            if level == "adset":
                out.append(Entity({**acct, "campaign": campaign, "adset": adset}, adset[0], n_ads))
                continue
            for a in range(n_ads):
                ad = (
                    data.entity_id(seed, "meta", account.account_id, "ad", c, s, a, digits=17),
                    f"Ad {c + 1}.{s + 1}.{a + 1}",
                )
                out.append(Entity({**acct, "campaign": campaign, "adset": adset, "ad": ad}, ad[0]))
    return out


def entity_metrics(seed: int, entity: Entity, day: dt.date) -> dict[str, int]:
    """One entity-day: counts and money in cents (Meta reports whole actions, unlike Google).

    Each level's rows are generated directly (scaled by the number of ads below), not summed from
    its children, so a row costs the same at every level; levels are plausible, not additive.
    """
    m = data.daily_metrics(seed, "meta:" + entity.key, day, scale=entity.weight)
    total = int(round(float(m["conversions"])))
    purchase = (total + 1) // 2
    clicks, impressions = int(m["clicks"]), int(m["impressions"])
    return {
        "impressions": impressions,
        "clicks": clicks,
        "spend_cents": int(m["cost_micros"]) // 10_000,
        "purchase": purchase,
        "lead": total - purchase,
        "complete_registration": (impressions + clicks) % 3 if clicks else 0,
        "purchase_value_cents": int(round(float(m["conversions_value"]) * 100 * purchase / total)) if total else 0,
        "link_click": int(clicks * 0.9),
        "landing_page_view": int(clicks * 0.7),
    }


def sum_metrics(seed: int, entity: Entity, days: list[dt.date]) -> dict[str, int]:
    total: dict[str, int] = {}
    for day in days:
        for key, value in entity_metrics(seed, entity, day).items():
            total[key] = total.get(key, 0) + value
    return total


def money(cents: int) -> str:
    """A decimal string the way Graph writes money ("43.12", "43.1", "43")."""
    text = f"{cents // 100}.{cents % 100:02d}"
    return text.rstrip("0").rstrip(".")


def ratio(num: float, den: float, scale: float = 1.0) -> str:
    return f"{(num / den * scale):.6f}".rstrip("0").rstrip(".") if den else "0"


def format_row(
    entity: Entity, m: dict[str, int], fields: list[str], level: str, currency: str, since: dt.date, until: dt.date
) -> dict[str, Any]:
    """The row as Graph sends it: ids/names the level has, numbers as strings, absent actions omitted."""
    row: dict[str, Any] = {}
    actions = [
        (k, m[k]) for k in ("link_click", "landing_page_view", "purchase", "lead", "complete_registration") if m.get(k)
    ]
    if m.get("purchase"):  # pixel and omni duplicates of purchase, as the real API reports them
        actions += [("offsite_conversion.fb_pixel_purchase", m["purchase"]), ("omni_purchase", m["purchase"])]
    values = (
        [
            ("purchase", m["purchase_value_cents"]),
            ("offsite_conversion.fb_pixel_purchase", m["purchase_value_cents"]),
            ("omni_purchase", m["purchase_value_cents"]),
        ]
        if m.get("purchase_value_cents")
        else []
    )
    for name in fields:
        owner = ENTITY_FIELDS.get(name)
        if owner is not None:
            if owner in entity.ids and LEVELS.index(owner) <= LEVELS.index(level):
                row[name] = entity.ids[owner][0 if name.endswith("_id") else 1]
        elif name == "impressions" or name == "clicks":
            row[name] = str(m[name])
        elif name == "spend":
            row[name] = money(m["spend_cents"])
        elif name == "ctr":
            row[name] = ratio(m["clicks"], m["impressions"], 100)
        elif name == "cpc":
            row[name] = ratio(m["spend_cents"] / 100, m["clicks"])
        elif name == "cpm":
            row[name] = ratio(m["spend_cents"] / 100, m["impressions"], 1000)
        elif name == "account_currency":
            row[name] = currency
        elif name == "actions" and actions:
            row[name] = [{"action_type": k, "value": str(v)} for k, v in actions]
        elif name == "action_values" and values:
            row[name] = [{"action_type": k, "value": money(v)} for k, v in values]
    row["date_start"], row["date_stop"] = since.isoformat(), until.isoformat()
    return row


# ---------------------------------------------------------------- the query


@dataclass(frozen=True)
class Query:
    """A parsed insights request; the report is a pure function of it (plus the sandbox seed)."""

    account: g.AdAccount
    level: str
    fields: tuple[str, ...]
    since: dt.date
    until: dt.date
    daily: bool

    def days(self) -> list[dt.date]:
        return list(data.date_range(self.since, self.until))

    def size(self, cfg: SandboxConfig) -> tuple[int, int]:
        """(entities, rows) without building any row."""
        n = len(entities(cfg, self.account, self.level))
        day_count = max(0, (self.until - self.since).days + 1)
        if day_count == 0:
            return n, 0
        return n, n * day_count if self.daily else n

    def rows(self, cfg: SandboxConfig, offset: int, limit: int) -> list[dict[str, Any]]:
        """Only rows [offset, offset+limit): date-major, entity-minor."""
        ents = entities(cfg, self.account, self.level)
        n, total = self.size(cfg)
        out = []
        for index in range(offset, min(offset + limit, total)):
            day_index, ent_index = divmod(index, n)
            entity = ents[ent_index]
            if self.daily:
                day = self.since + dt.timedelta(days=day_index)
                m, start, stop = entity_metrics(cfg.seed, entity, day), day, day
            else:
                m, start, stop = sum_metrics(cfg.seed, entity, self.days()), self.since, self.until
            out.append(format_row(entity, m, list(self.fields), self.level, self.account.currency, start, stop))
        return out


def history(cfg: SandboxConfig) -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(dt.timezone.utc).date()
    return today - dt.timedelta(days=cfg.days - 1), today


def _list_param(raw: str | None) -> list[str]:
    """A Graph list parameter: a JSON array (what the SDK sends) or comma-separated text."""
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw.split(",")
    return [str(v).strip() for v in (value if isinstance(value, list) else [value]) if str(v).strip()]


def parse_query(state: SandboxState, request: Request, form: dict[str, str], account: g.AdAccount) -> Query | Response:
    p = lambda name, default=None: g.param(request, form, name, default)  # noqa: E731
    level = p("level", "account")
    if level not in LEVELS:
        return g.graph_error(state, f"(#100) level must be one of the following values: {', '.join(LEVELS)}", 100)
    fields = [f.strip() for f in (p("fields") or ",".join(DEFAULT_FIELDS)).split(",") if f.strip()]
    unknown = [f for f in fields if f not in ADS_INSIGHTS_FIELDS]
    if unknown:
        return g.graph_error(
            state,
            f"(#100) {unknown[0]} is not valid for fields param. please check "
            "https://developers.facebook.com/docs/marketing-api/reference/ads-insights/",
            100,
        )
    windows = _list_param(p("action_attribution_windows"))
    removed = [w for w in windows if w in REMOVED_ATTRIBUTION_WINDOWS]
    if removed:
        return g.graph_error(
            state,
            f"(#100) action_attribution_windows[{windows.index(removed[0])}] {removed[0]} is no "
            "longer available: 7-day and 28-day view attribution windows were removed from Ads "
            "Insights on January 12, 2026. Use 1d_view, 1d_ev, 1d_click, 7d_click or 28d_click.",
            100,
        )
    first, last = history(state.config)
    yesterday = last - dt.timedelta(days=1)
    time_range, preset = p("time_range"), p("date_preset")
    if time_range:
        try:
            tr = json.loads(time_range)
            since, until = dt.date.fromisoformat(tr["since"]), dt.date.fromisoformat(tr["until"])
        except (ValueError, KeyError, TypeError):
            return g.graph_error(
                state, "(#100) param time_range must be a JSON object with since and until dates (YYYY-MM-DD)", 100
            )
        if since > until:
            return g.graph_error(state, "(#100) Since date must be before until date", 100)
    else:
        preset = preset or "last_30d"
        match = re.fullmatch(r"last_(\d+)d", preset)
        if preset == "today":
            since = until = last
        elif preset == "yesterday":
            since = until = yesterday
        elif preset == "maximum":
            since, until = first, last
        elif match:
            since, until = yesterday - dt.timedelta(days=int(match.group(1)) - 1), yesterday
        else:
            return g.graph_error(state, f"(#100) date_preset {preset} is not supported by the sandbox", 100)
    increment = p("time_increment", "all_days")
    if increment not in ("1", "all_days"):
        return g.graph_error(state, "(#100) the sandbox supports time_increment=1 or all_days", 100)
    since, until = max(since, first), min(until, last)  # no data outside the account's history
    return Query(account, level, tuple(fields), since, until, increment == "1")


# ---------------------------------------------------------------- routes


def routes(state: SandboxState) -> dict[str, Any]:
    """Handlers dispatched by meta/__init__.py on (node kind, edge)."""

    async def guarded(request: Request, operation: str, form: dict[str, str] | None = None):  # noqa: ANN202
        token = g.token_of(request, form)
        problem = g.check_user_token(state, request, token, form)
        if problem:
            return token, problem
        fault = state.faults.take(operation)
        if fault and not (operation == "meta.report_run" and fault.condition == "job_failed"):
            return token, g.fault_response(state, fault, token)
        return token, fault

    def _unknown_account_field(fields: list[str]) -> Response | None:
        """Graph's refusal of a field AdAccount does not have (valid ones the sandbox lacks are left out)."""
        unknown = [f for f in fields if f not in AD_ACCOUNT_FIELDS]
        if not unknown:
            return None
        return g.graph_error(
            state, f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type (AdAccount)", 100
        )

    async def adaccounts(request: Request) -> Response:
        _, outcome = await guarded(request, "meta.adaccounts")
        if isinstance(outcome, Response):
            return outcome
        limit, offset = g.limit_of(request), g.start_offset(request)
        if limit is None or offset is None:
            return g.graph_error(state, "(#100) Invalid limit or after cursor", 100)
        fields = [f for f in (request.query_params.get("fields") or "id").split(",") if f]
        if (problem := _unknown_account_field(fields)) is not None:
            return problem
        rows = [
            {f: getattr(a, f) for f in ["id", *fields] if f in ACCOUNT_FIELDS}
            for a in g.AD_ACCOUNTS[offset : offset + limit]
        ]
        body = g.page(state, request, rows, offset, limit)
        if offset + len(rows) >= len(g.AD_ACCOUNTS):
            body.get("paging", {}).pop("next", None)  # the account list knows its end
        return g.ok(state, body)

    async def account_node(request: Request, account: g.AdAccount) -> Response:
        _, outcome = await guarded(request, "meta.account")
        if isinstance(outcome, Response):
            return outcome
        fields = [f for f in (request.query_params.get("fields") or "id").split(",") if f]
        if (problem := _unknown_account_field(fields)) is not None:
            return problem
        return g.ok(state, {f: getattr(account, f) for f in ["id", *fields] if f in ACCOUNT_FIELDS})

    async def insights(request: Request, account: g.AdAccount) -> Response:
        form = await g.form_or_empty(request)
        _, outcome = await guarded(request, "meta.insights", form)
        if isinstance(outcome, Response):
            return outcome
        query = parse_query(state, request, form, account)
        if isinstance(query, Response):
            return query
        if request.method == "POST":
            run_id = data.entity_id(state.config.seed, "meta_run", time.time_ns(), digits=16)
            runs = g.memory(state)["runs"]  # looked up per call: /_control/reset replaces state.extra
            with state.lock:
                runs[run_id] = {"query": query, "step": 0, "failed": False, "created": int(time.time())}
            return g.ok(state, {"report_run_id": run_id})
        return _page(request, query)

    def _page(request: Request, query: Query) -> Response:
        limit, offset = g.limit_of(request), g.start_offset(request)
        if limit is None or offset is None:
            return g.graph_error(state, "(#100) Invalid limit or after cursor", 100)
        rows = query.rows(state.config, offset, limit)
        return g.ok(state, g.page(state, request, rows, offset, limit))

    def _run_body(run_id: str, run: dict[str, Any]) -> dict[str, Any]:
        query: Query = run["query"]
        status, pct = ("Job Failed", 0) if run["failed"] else RUN_STEPS[run["step"]]
        body = {
            "id": run_id,
            "account_id": query.account.account_id,
            "async_status": status,
            "async_percent_completion": pct,
            "date_start": query.since.isoformat(),
            "date_stop": query.until.isoformat(),
            "time_ref": run["created"],
            "is_running": status not in ("Job Completed", "Job Failed"),
        }
        if status == "Job Completed":
            body["time_completed"] = int(time.time())
        return body

    async def run_node(request: Request, run_id: str) -> Response:
        _, outcome = await guarded(request, "meta.report_run")
        if isinstance(outcome, Response):
            return outcome
        runs = g.memory(state)["runs"]
        with state.lock:
            run = runs[run_id]
            if outcome is not None:  # the job_failed fault
                run["failed"] = True
            elif not run["failed"]:
                run["step"] = min(run["step"] + 1, len(RUN_STEPS) - 1)  # one step per poll
            body = _run_body(run_id, run)
        return g.ok(state, body)

    async def run_insights(request: Request, run_id: str) -> Response:
        _, outcome = await guarded(request, "meta.insights")
        if isinstance(outcome, Response):
            return outcome
        run = g.memory(state)["runs"][run_id]
        if run["failed"] or RUN_STEPS[run["step"]][0] != "Job Completed":
            return g.graph_error(
                state,
                "(#100) The report run is not complete; poll it until async_status is 'Job Completed'",
                100,
                subcode=1487534,
            )
        return _page(request, run["query"])

    return {
        "adaccounts": adaccounts,
        "account_node": account_node,
        "insights": insights,
        "run_node": run_node,
        "run_insights": run_insights,
    }
