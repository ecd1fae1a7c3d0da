"""Marketing API emulator: ad accounts, `act_{id}/insights` (sync and async report runs).

Why: Routy pulls daily campaign, ad set and ad metrics from Meta. This module reads an insights request
as Graph does (level, fields checked against the official SDK's list, attribution windows, time range or
date preset, time increment) and answers it a page at a time with cursor paging and an absolute
`paging.next`; the rows themselves come from report_data.py. Async report runs advance one step per poll.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from routy_app.sandbox.core import data, jsonio
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.meta import graph as g
from routy_app.sandbox.meta import paging
from routy_app.sandbox.meta.report_data import LEVELS, Query, history
from routy_app.sandbox.meta.sdk_fields import AD_ACCOUNT_FIELDS, ADS_INSIGHTS_FIELDS

# Attribution windows Ads Insights no longer offers since 2026-01-12 (Meta developer blog, 2025-10-16,
# "Ads Insights API Metric Availability Updates").
REMOVED_ATTRIBUTION_WINDOWS = ("7d_view", "28d_view")
DEFAULT_FIELDS = ("impressions", "spend")
RUN_STEPS = (("Job Not Started", 0), ("Job Started", 0), ("Job Running", 50), ("Job Completed", 100))
ACCOUNT_FIELDS = ("id", "account_id", "name", "currency", "timezone_name", "account_status")


def _list_param(raw: str | None) -> list[str]:
    """A Graph list parameter: a JSON array (what the SDK sends) or comma-separated text."""
    if not raw:
        return []
    try:
        value = jsonio.loads(raw)
    except ValueError:
        value = raw.split(",")
    return [str(v).strip() for v in (value if isinstance(value, list) else [value]) if str(v).strip()]


def parse_query(state: SandboxState, request: Request, form: dict[str, str], account: g.AdAccount) -> Query | Response:
    def p(name: str, default: str | None = None) -> str | None:
        return g.param(request, form, name, default)

    level = p("level") or "account"
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
            tr = jsonio.loads(time_range)
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


@dataclass
class ReportRun:
    """An async insights job (POST act_{id}/insights): one step further per poll, or failed by a job_failed fault."""

    query: Query
    created: int  # epoch seconds
    step: int = 0  # index into RUN_STEPS
    failed: bool = False


@dataclass
class ReportRuns:
    runs: dict[str, ReportRun] = field(default_factory=dict)


def is_report_run(state: SandboxState, node: str) -> bool:
    return node in state.part(ReportRuns).runs


@dataclass(frozen=True)
class InsightsHandlers:
    """The Marketing API endpoints meta/__init__.py dispatches to on (node kind, edge)."""

    adaccounts: g.Endpoint
    account_node: g.AccountEndpoint
    insights: g.AccountEndpoint
    run_node: g.NodeEndpoint
    run_insights: g.NodeEndpoint


def routes(state: SandboxState) -> InsightsHandlers:
    """The handlers, bound to this emulator's state."""

    def refuse(request: Request, operation: str, form: dict[str, str] | None = None) -> Response | None:
        return g.refuse(state, request, g.token_of(request, form), operation, form)

    def _unknown_account_field(fields: list[str]) -> Response | None:
        """Graph's refusal of a field AdAccount does not have (valid ones the sandbox lacks are left out)."""
        unknown = [f for f in fields if f not in AD_ACCOUNT_FIELDS]
        if not unknown:
            return None
        return g.graph_error(
            state, f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type (AdAccount)", 100
        )

    async def adaccounts(request: Request) -> Response:
        if (refused := refuse(request, "meta.adaccounts")) is not None:
            return refused
        limit, offset = paging.limit_of(request), paging.start_offset(request)
        if limit is None or offset is None:
            return g.graph_error(state, "(#100) Invalid limit or after cursor", 100)
        fields = [f for f in (request.query_params.get("fields") or "id").split(",") if f]
        if (problem := _unknown_account_field(fields)) is not None:
            return problem
        rows = [
            {f: getattr(a, f) for f in ["id", *fields] if f in ACCOUNT_FIELDS}
            for a in g.AD_ACCOUNTS[offset : offset + limit]
        ]
        body = paging.page(request, rows, offset, limit)
        if offset + len(rows) >= len(g.AD_ACCOUNTS):
            body.get("paging", {}).pop("next", None)  # the account list knows its end
        return g.ok(state, body)

    async def account_node(request: Request, account: g.AdAccount) -> Response:
        if (refused := refuse(request, "meta.account")) is not None:
            return refused
        fields = [f for f in (request.query_params.get("fields") or "id").split(",") if f]
        if (problem := _unknown_account_field(fields)) is not None:
            return problem
        return g.ok(state, {f: getattr(account, f) for f in ["id", *fields] if f in ACCOUNT_FIELDS})

    async def insights(request: Request, account: g.AdAccount) -> Response:
        form = await g.form_or_empty(request)
        if (refused := refuse(request, "meta.insights", form)) is not None:
            return refused
        query = parse_query(state, request, form, account)
        if isinstance(query, Response):
            return query
        if request.method == "POST":
            run_id = data.entity_id(state.config.seed, "meta_run", time.time_ns(), digits=16)
            runs = state.part(ReportRuns).runs
            with state.lock:
                runs[run_id] = ReportRun(query, created=int(time.time()))
            return g.ok(state, {"report_run_id": run_id})
        return _page(request, query)

    def _page(request: Request, query: Query) -> Response:
        limit, offset = paging.limit_of(request), paging.start_offset(request)
        if limit is None or offset is None:
            return g.graph_error(state, "(#100) Invalid limit or after cursor", 100)
        rows = query.rows(state.config, offset, limit)
        return g.ok(state, paging.page(request, rows, offset, limit))

    def _run_body(run_id: str, run: ReportRun) -> dict[str, Any]:
        query = run.query
        status, pct = ("Job Failed", 0) if run.failed else RUN_STEPS[run.step]
        body: dict[str, Any] = {
            "id": run_id,
            "account_id": query.account.account_id,
            "async_status": status,
            "async_percent_completion": pct,
            "date_start": query.since.isoformat(),
            "date_stop": query.until.isoformat(),
            "time_ref": run.created,
            "is_running": status not in ("Job Completed", "Job Failed"),
        }
        if status == "Job Completed":
            body["time_completed"] = int(time.time())
        return body

    async def run_node(request: Request, run_id: str) -> Response:
        token = g.token_of(request)
        if (problem := g.check_user_token(state, request, token)) is not None:
            return problem
        fault = state.faults.take("meta.report_run")
        job_failed = fault is not None and fault.condition == "job_failed"  # the run fails; the poll answers
        if fault is not None and not job_failed:
            return g.fault_response(state, fault, token)
        runs = state.part(ReportRuns).runs
        with state.lock:
            run = runs[run_id]
            if job_failed:
                run.failed = True
            elif not run.failed:
                run.step = min(run.step + 1, len(RUN_STEPS) - 1)  # one step per poll
            body = _run_body(run_id, run)
        return g.ok(state, body)

    async def run_insights(request: Request, run_id: str) -> Response:
        if (refused := refuse(request, "meta.insights")) is not None:
            return refused
        run = state.part(ReportRuns).runs[run_id]
        if run.failed or RUN_STEPS[run.step][0] != "Job Completed":
            return g.graph_error(
                state,
                "(#100) The report run is not complete; poll it until async_status is 'Job Completed'",
                100,
                subcode=1487534,
            )
        return _page(request, run.query)

    return InsightsHandlers(adaccounts, account_node, insights, run_node, run_insights)
