"""Settings → Sync (direction, schedule, Sync Now / Force Full Sync with live progress) and Sync History."""

from __future__ import annotations

import asyncio

import reflex as rx

from routy_app.db import session_scope
from routy_app.errors import UserFacingError
from routy_app.services import run_history, run_progress, runs, wording
from routy_app.services.hub import default_hub
from routy_app.services.integrations import ConnectionProblem, sync_settings
from routy_app.services.sync_now import sync_now
from routy_app.state import paging, reading, toast
from routy_app.state.auth import actor, current_user, refusal
from routy_app.state.settings import SettingsState
from routy_app.state.source import SourceState
from routy_app.statuses import RunTrigger

HISTORY_PAGE_SIZE = 10
PROGRESS_POLL_SECONDS = 0.5
HISTORY_REFRESH_SECONDS = 2.0
HISTORY_WATCH_LIMIT = 600  # seconds a history tab keeps refreshing itself


class SyncState(rx.State):
    direction: str = ""
    schedule_minutes: str = "60"
    lookback_days: str = "7"
    history_days: str = "90"
    directions: list[str] = []
    field_errors: dict[str, str] = {}

    running: bool = False
    progress_level: str = ""
    progress_rows: int = 0
    progress_percent: int = 0
    progress_text: str = ""
    other_running: bool = False  # a run this tab did not start is under way (watch_other_run)
    loaded: bool = False  # the Sync form holds this integration's values (not the defaults)
    last_result: str = ""
    last_result_ok: bool = True
    confirm_full_open: bool = False

    history_rows: list[run_history.RunRow] = []
    history_total: int = 0
    history_page: int = 1
    _provider: str = ""
    _watching: bool = False
    _running_for: int = 0

    @rx.var
    def history_total_text(self) -> str:
        return wording.number(self.history_total)

    async def _integration_id(self) -> int:
        return await reading.integer(self, SettingsState.integration_id)

    @rx.event
    def load_page(self):
        """The integration page's loader for this tab's data (the tab is in the URL). Signed out, it
        does nothing: SourceState.load sends the browser to sign in and back to this tab."""
        if current_user(self) is None:
            return None
        self.loaded = False  # the form shows once it holds this integration's values
        return SyncState.on_tab(str(self.router.page.params.get("tab", "")))

    @rx.event
    def on_tab(self, tab: str):
        """Settings' tabs: Sync loads its form and history; Sync History also keeps itself current."""
        if tab == "sync":
            return [SyncState.load, SyncState.watch_other_run]
        if tab == "history":
            return [SyncState.load, SyncState.watch_history]
        return None

    @rx.event
    async def load(self):
        if current_user(self) is None:
            return rx.redirect("/login")
        integration_id = await self._integration_id()
        try:
            current, directions = sync_settings.current(integration_id)
        except ConnectionProblem as exc:
            return toast.error(exc.message)
        self.direction, self.directions = current.direction, directions
        self.schedule_minutes, self.lookback_days = str(current.schedule_minutes), str(current.lookback_days)
        self.history_days, self.field_errors = str(current.history_days), {}
        if self._running_for != integration_id:  # what another integration's run said does not belong here
            self.last_result, self.history_page = "", 1
        self._load_history(integration_id)
        self.loaded = True

    def _load_history(self, integration_id: int) -> None:
        with session_scope() as session:
            self.history_rows, self.history_total = run_history.page(
                session, integration_id, self.history_page, HISTORY_PAGE_SIZE
            )

    @rx.event(background=True)
    async def watch_history(self):
        """Keep Sync History current while its tab is open (scheduled runs start on their own)."""
        async with self:
            if self._watching:
                return
            self._watching = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HISTORY_WATCH_LIMIT
        try:
            while loop.time() < deadline:
                await asyncio.sleep(HISTORY_REFRESH_SECONDS)
                async with self:
                    settings = await self.get_state(SettingsState)
                    if not settings.open or settings.tab != "history" or current_user(self) is None:
                        return
                    self._load_history(settings.integration_id)
        finally:
            async with self:
                self._watching = False

    @rx.event
    async def history_go(self, delta: int):
        if current_user(self) is None:
            return rx.redirect("/login")
        self.history_page = paging.move(self.history_page, delta, self.history_total, HISTORY_PAGE_SIZE)
        self._load_history(await self._integration_id())

    @rx.event
    async def save(self, form: dict):
        if (denied := refusal(self, "change sync settings")) is not None:
            return denied
        integration_id = await self._integration_id()
        try:
            saved = sync_settings.save(integration_id, {k: str(v) for k, v in form.items()}, actor=actor(self))
        except ConnectionProblem as exc:
            self.field_errors = {exc.field or "form": exc.message}
            return None
        self.field_errors = {}
        self.direction, self.schedule_minutes = saved.direction, str(saved.schedule_minutes)
        self.lookback_days, self.history_days = str(saved.lookback_days), str(saved.history_days)
        return toast.success("Sync settings saved; the new schedule applies now.")

    @rx.event
    def set_direction(self, value: str) -> None:
        self.direction = value

    @rx.event
    def set_schedule(self, value: str) -> None:
        self.schedule_minutes = value

    @rx.event
    def set_confirm_full_open(self, value: bool) -> None:
        self.confirm_full_open = value

    @rx.event(background=True)
    async def sync_now(self, trigger: str):
        """Run a pull now (a push-only integration sends its queue); progress comes from the run row the
        engine updates page by page."""
        async with self:
            denied = refusal(self, "start syncs")
            start = denied is None and not self.running
            if start:
                settings = await self.get_state(SettingsState)
                integration_id = settings.integration_id
                self._provider = settings.details.provider if settings.details else ""
                self._running_for = integration_id
                self.running, self.confirm_full_open, self.last_result = True, False, ""
                self.progress_level, self.progress_rows, self.progress_percent = "starting", 0, 0
                self.progress_text = "Starting: 0 rows so far"
                who = actor(self)
        if denied is not None:
            yield denied
        if not start:
            return
        run_trigger = RunTrigger.FULL if trigger == "full" else RunTrigger.MANUAL  # events come from the browser
        task = asyncio.create_task(sync_now(default_hub(), integration_id, run_trigger, actor=who))
        while not task.done():
            await asyncio.wait({task}, timeout=PROGRESS_POLL_SECONDS)
            await self._show_progress(integration_id)
        async with self:
            self.running = False
            try:
                summary = task.result()
                self.last_result_ok = summary.status in ("success", "idle")
                self.last_result = summary.message
            except UserFacingError as exc:  # already running, cannot pull now, the integration is gone
                self.last_result_ok, self.last_result = False, exc.message
            self.history_page = 1
            self._load_history(integration_id)
        yield SettingsState.reload
        yield SourceState.refresh_cards

    @rx.event(background=True)
    async def watch_other_run(self):
        """A pull this tab did not start (the schedule's, another user's) shows its progress here too,
        and its outcome when it ends. Sync Now stays available: the engine says if a run holds the lock."""
        async with self:
            if self.running or self.other_running or current_user(self) is None:
                return
            settings = await self.get_state(SettingsState)
            integration_id = settings.integration_id
            self._provider = settings.details.provider if settings.details else ""
        with session_scope() as session:
            run = run_history.latest(session, integration_id, "pull")
        if run is None or run.finished_at is not None or run.status != "running":
            return
        async with self:
            self.other_running, self.last_result = True, ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HISTORY_WATCH_LIMIT
        ended = None
        while loop.time() < deadline:
            await self._show_progress(integration_id)
            with session_scope() as session:
                latest = run_history.latest(session, integration_id, "pull")
            if latest is None or latest.id != run.id or latest.finished_at is not None:
                ended = latest if latest is not None and latest.id == run.id else None
                break
            async with self:
                if self.running:  # this tab started its own sync: its progress is shown instead
                    break
            await asyncio.sleep(PROGRESS_POLL_SECONDS)
        async with self:
            self.other_running = False
            if ended is not None and not self.running and not self.last_result:
                kind = {"schedule": "scheduled", "full": "full"}.get(ended.trigger, ended.trigger)
                self.last_result_ok = ended.status == "success"
                self.last_result = f"The {kind} sync that was running ended: {ended.status}."
            self._load_history(integration_id)
        yield SourceState.refresh_cards

    async def _show_progress(self, integration_id: int) -> None:
        with session_scope() as session:
            run = run_history.latest(session, integration_id, "pull")
            estimate = run_progress.estimate(session, run) if run is not None and run.finished_at is None else None
        if run is None or estimate is None:
            return
        async with self:
            self.progress_level = run.progress_level or "starting"
            self.progress_rows = run.records_read
            self.progress_percent, self.progress_text = run_history.progress(
                self._provider, run.progress_level, estimate.rows, estimate.previous, runs.level_counts(run.level_rows)
            )
            self._load_history(integration_id)
