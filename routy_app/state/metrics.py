"""Settings → Metrics: date range, summary tiles, a daily chart and a drill-down breakdown.

Only aggregated pages reach the browser; rows stay in the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import reflex as rx

from routy_app import routes
from routy_app.db import session_scope
from routy_app.services import metrics_queries as mq
from routy_app.services import metrics_view
from routy_app.state import paging, reading, toast
from routy_app.state.auth import current_user
from routy_app.state.settings import SettingsState

PAGE_SIZE = 15
DEFAULT_DAYS = 30
MAX_ID_LENGTH = 200
MAX_NAME_LENGTH = 500


@dataclass(frozen=True)
class Crumb:
    label: str
    level: str
    campaign_id: str
    ad_group_id: str


@dataclass(frozen=True)
class LevelOption:
    level: str
    label: str


class MetricsState(rx.State):
    start: str = ""
    end: str = ""
    range_error: str = ""
    tiles: list[metrics_view.Tile] = []
    points: list[dict[str, Any]] = []  # recharts wants plain dicts
    rows: list[metrics_view.TableRow] = []
    total_rows: int = 0
    page: int = 1
    level: str = "campaign"
    level_label: str = "Campaigns"
    child_options: rx.Field[list[LevelOption]] = rx.field(default_factory=list)
    sibling_options: list[LevelOption] = []
    crumbs: list[Crumb] = []
    campaign_id: str = ""
    ad_group_id: str = ""
    sort_by: str = "cost_micros"
    # What this provider reports (metrics_view.layout): columns, their labels, the chart's series.
    columns: rx.Field[list[str]] = rx.field(default_factory=list)
    labels: dict[str, str] = {}
    detail_label: str = ""
    bar_key: str = "cost"
    bar_label: str = "Cost"
    line_label: str = "Clicks"
    descending: bool = True
    empty_text: str = ""
    export_url: str = ""
    _provider: str = ""
    _currency: str = ""

    @rx.var
    def scope_label(self) -> str:
        """What the tiles and chart total: the drilled-into campaign or ad group ("" for the account)."""
        return self.crumbs[-1].label if self.crumbs else ""

    async def _integration_id(self) -> int:
        return await reading.integer(self, SettingsState.integration_id)

    @rx.event
    def load_page(self):
        """The integration page's loader for this tab's data (the tab is in the URL). Signed out, it
        does nothing: SourceState.load sends the browser to sign in and back to this tab."""
        if current_user(self) is None:
            return None
        return MetricsState.on_tab(str(self.router.page.params.get("tab", "")))

    @rx.event
    def on_tab(self, tab: str):
        return MetricsState.load if tab == "metrics" else None

    @rx.event
    async def load(self):
        if current_user(self) is None:
            return rx.redirect("/login")
        today = dt.datetime.now(dt.UTC).date()
        self.start, self.end = (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat(), today.isoformat()
        self.level, self.campaign_id, self.ad_group_id, self.crumbs, self.page = "campaign", "", "", [], 1
        self.sort_by, self.descending, self.range_error = "", True, ""  # "": the provider's default
        self._refresh(await self._integration_id())
        return None

    def _dates(self) -> tuple[dt.date, dt.date] | None:
        try:
            start, end = dt.date.fromisoformat(self.start), dt.date.fromisoformat(self.end)
        except ValueError:
            self.range_error = "Enter both dates as YYYY-MM-DD."
            return None
        if start > end:
            self.range_error = "The start date must not be after the end date."
            return None
        if (end - start).days > 731:
            self.range_error = "Pick at most two years."
            return None
        self.range_error = ""
        return start, end

    def _refresh(self, integration_id: int) -> None:
        if current_user(self) is None:  # every event of this tab ends here: signed-out users get nothing
            self.tiles, self.points, self.rows, self.total_rows = [], [], [], 0
            return
        dates = self._dates()
        if dates is None:
            return
        start, end = dates
        with session_scope() as session:
            found = metrics_view.context(session, integration_id)
            if found is None:
                return
            self._provider, self._currency = found.provider, found.currency
            shown = metrics_view.layout(self._provider)
            self.columns, self.labels, self.detail_label = shown.columns, shown.labels, shown.detail_label
            self.bar_key, self.bar_label, self.line_label = shown.bar_key, shown.bar_label, shown.line_label
            if not self.sort_by:
                self.sort_by = shown.default_sort
            labels = metrics_view.level_labels(self._provider)
            self.level_label = labels[self.level]
            self.child_options = [
                LevelOption(c, labels[c]) for c in metrics_view.child_levels(self._provider, self.level)
            ]
            siblings = metrics_view.child_levels(self._provider, "ad_group") if self.level in ("ad", "keyword") else []
            self.sibling_options = [LevelOption(c, labels[c]) for c in siblings] if len(siblings) > 1 else []
            # Tiles and chart total what the table is drilled into (a campaign, an ad group), not the account.
            scope = self._parent()
            self.tiles = metrics_view.tiles(session, integration_id, start, end, self._currency, scope, self._provider)
            self.points = [
                dataclasses.asdict(p) for p in metrics_view.chart(session, integration_id, start, end, scope)
            ]
            self.rows, self.total_rows = metrics_view.table(
                session,
                integration_id,
                self.level,
                start,
                end,
                self._parent(),
                self.sort_by,
                self.descending,
                self.page,
                PAGE_SIZE,
                self._currency,
            )
            self.empty_text = "" if self.points else found.empty_text
        query = {
            "level": self.level,
            "start": self.start,
            "end": self.end,
            "sort": self.sort_by,
            "desc": "1" if self.descending else "0",
            **self._parent(),
        }
        self.export_url = routes.metrics_export(integration_id, query)

    def _parent(self) -> dict[str, str]:
        return {k: v for k, v in (("campaign_id", self.campaign_id), ("ad_group_id", self.ad_group_id)) if v}

    @rx.event
    async def set_range(self, form: dict):
        self.start, self.end, self.page = str(form.get("start", "")), str(form.get("end", "")), 1
        self._refresh(await self._integration_id())

    @rx.event
    async def preset(self, key: str):
        """7, 30 or 90 days up to today (UTC), this month, or last month."""
        today = dt.datetime.now(dt.UTC).date()
        days = {"7d": 7, "30d": 30, "90d": 90}
        if key in days:
            start, end = today - dt.timedelta(days=days[key] - 1), today
        elif key == "this_month":
            start, end = today.replace(day=1), today
        elif key == "last_month":
            end = today.replace(day=1) - dt.timedelta(days=1)
            start = end.replace(day=1)
        else:
            return toast.error("That date range does not exist.")
        self.start, self.end, self.page = start.isoformat(), end.isoformat(), 1
        self._refresh(await self._integration_id())
        return None

    @rx.event
    async def sort(self, column: str):
        if column not in mq.SORTABLE:  # events come from the browser: anything can arrive
            return toast.error("That column cannot be sorted.")
        if self.sort_by == column:
            self.descending = not self.descending
        else:
            self.sort_by, self.descending = column, column != "name"
        self.page = 1
        self._refresh(await self._integration_id())
        return None

    @rx.event
    async def go(self, delta: int):
        if isinstance(delta, bool) or not isinstance(delta, int):
            return
        self.page = paging.move(self.page, delta, self.total_rows, PAGE_SIZE)
        self._refresh(await self._integration_id())
        return

    @rx.event
    async def drill(self, row_id: str, name: str, child_level: str):
        """Open the children of a row: a campaign's ad groups, an ad group's ads or keywords."""
        if (
            not self._provider
            or child_level not in metrics_view.child_levels(self._provider, self.level)
            or not isinstance(row_id, str)
            or not row_id
            or len(row_id) > MAX_ID_LENGTH
            or not isinstance(name, str)
        ):
            return toast.error("That breakdown does not exist.")
        self.crumbs = [*self.crumbs, Crumb(name[:MAX_NAME_LENGTH], self.level, self.campaign_id, self.ad_group_id)]
        if self.level == "campaign":
            self.campaign_id = row_id
        else:
            self.ad_group_id = row_id
        self.level, self.page = child_level, 1
        self._refresh(await self._integration_id())
        return None

    @rx.event
    async def switch_child(self, child_level: str):
        """Ads vs keywords of the same ad group."""
        if (
            not self._provider
            or self.level not in ("ad", "keyword")
            or child_level not in metrics_view.child_levels(self._provider, "ad_group")
        ):
            return toast.error("That breakdown does not exist.")
        self.level, self.page = child_level, 1
        self._refresh(await self._integration_id())
        return None

    @rx.event
    async def back_to(self, index: int):
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.crumbs):
            return
        crumb = self.crumbs[index]
        self.level, self.campaign_id, self.ad_group_id = crumb.level, crumb.campaign_id, crumb.ad_group_id
        self.crumbs, self.page = self.crumbs[:index], 1
        self._refresh(await self._integration_id())
        return
