"""The Settings dialog of a connected card; the Connection tab's actions."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from routy_app import routes
from routy_app.db import session_scope
from routy_app.errors import UserFacingError
from routy_app.services import catalog, doctor, integrations, push
from routy_app.services.alerts import views as alert_views
from routy_app.services.hub import default_hub
from routy_app.services.integrations import ConnectionProblem
from routy_app.state import reading, toast
from routy_app.state.auth import actor, current_user, refusal
from routy_app.state.source import SourceState


@dataclass(frozen=True)
class SetupCheckRow:
    """One line of Check set-up, display-ready."""

    name: str
    status: str  # ok | warn | fail | skip
    label: str
    color: str
    message: str
    fix: str


CHECK_DISPLAY = {
    "ok": ("OK", "green"),
    "warn": ("Warning", "orange"),
    "fail": ("Failed", "red"),
    "skip": ("Skipped", "gray"),
}


def _param_int(value: object) -> int:
    return reading.url_id(value)


class SettingsState(rx.State):
    """One integration's page (/sources/{id}/integrations/{integration_id}/{tab}) and its Connection tab.

    `open` says that page is showing (tab states stop watching when it is not).
    """

    open: bool = False
    not_found: bool = False
    tab: str = "connection"
    integration_id: int = 0
    source_href: str = ""
    details: catalog.ConnectionDetails | None = None
    activity: rx.Field[list[catalog.ActivityRow]] = rx.field(default_factory=list)
    testing: bool = False
    test_message: str = ""
    test_ok: bool = False
    confirm_open: bool = False
    removal_text: str = ""
    busy: bool = False
    versions: list[catalog.VersionRow] = []
    version_notice: str = ""
    version_notice_color: str = ""
    checking: bool = False
    setup_checks: list[SetupCheckRow] = []
    setup_summary: str = ""
    setup_ok: bool = False
    incidents: list[alert_views.IncidentRow] = []

    def _load(self) -> bool:
        with session_scope() as session:
            self.details = catalog.connection_details(session, self.integration_id)
            self.activity = catalog.activity(session, self.integration_id)
            self.incidents = alert_views.incident_rows(session, integration_id=self.integration_id, limit=10)
        if self.details is not None:
            self.versions, self.version_notice, self.version_notice_color = catalog.api_versions(self.details.provider)
        return self.details is not None

    @rx.event
    def on_page_load(self) -> None:
        """A source page: no integration page is showing."""
        self.open = self.confirm_open = False

    @rx.event
    def load_page(self) -> None:
        """The integration page's loader: which integration and tab the URL names (SourceState.load,
        before this, sends a signed-out browser to sign in and back here)."""
        params = self.router.page.params
        source_id, integration_id = _param_int(params.get("source_id")), _param_int(params.get("integration_id"))
        tab = str(params.get("tab", ""))
        self.confirm_open, self.open = False, False
        if current_user(self) is None:
            return
        if integration_id != self.integration_id:
            self.test_message, self.setup_checks, self.setup_summary = "", [], ""
        self.integration_id, self.tab = integration_id, tab if tab in routes.INTEGRATION_TABS else "connection"
        self.source_href = routes.source_from(source_id, integration_id)
        found = self._load()
        self.not_found = not found or self.details is None or self.details.source_id != source_id
        self.open = not self.not_found

    @rx.event
    def go_tab(self, tab: str):
        """A tab of the page is a URL of its own: reload, back and forward land on it."""
        if tab not in routes.INTEGRATION_TABS or self.details is None or tab == self.tab:
            return None  # the same tab twice (a click, then its focus) is one history entry
        self.tab = tab
        return rx.redirect(routes.integration(self.details.source_id, self.integration_id, tab))

    @rx.event
    def reload(self) -> None:
        if current_user(self) is not None:
            self._load()

    @rx.event
    async def test_connection(self):
        if (denied := refusal(self, "test connections")) is not None:
            yield denied
            return
        self.testing, self.test_message = True, ""
        yield
        outcome = await integrations.check_connection(default_hub(), self.integration_id, actor=actor(self))
        self.testing, self.test_ok = False, outcome.ok
        self.test_message = f"{outcome.message.rstrip('.')} ({outcome.elapsed_ms} ms)"
        self._load()
        yield SourceState.refresh_cards

    @rx.event
    async def check_setup(self):
        """Every set-up check of this integration, live (what `python -m routy_app doctor` runs), admins only."""
        if (denied := refusal(self, "check the set-up")) is not None:
            yield denied
            return
        self.checking, self.setup_checks, self.setup_summary = True, [], ""
        yield
        try:
            report = await doctor.check_integration(default_hub(), self.integration_id, actor=actor(self))
        except ConnectionProblem as exc:
            self.checking, self.setup_summary, self.setup_ok = False, exc.message, False
            return
        self.setup_checks = [
            SetupCheckRow(c.name, c.status, *CHECK_DISPLAY[c.status], c.message, c.fix) for c in report.checks
        ]
        self.setup_ok, self.setup_summary = not report.failed, report.summary
        self.checking = False
        self._load()

    @rx.event
    def set_paused(self, paused: bool):
        if (denied := refusal(self, "pause or resume integrations")) is not None:
            return denied
        try:
            integrations.set_paused(self.integration_id, paused, actor=actor(self))
        except ConnectionProblem as exc:
            return toast.error(exc.message)
        self._load()
        if paused:
            return [SourceState.refresh_cards, toast.success("Paused: nothing syncs until you resume.")]
        return [
            SourceState.refresh_cards,
            toast.success("Resumed: syncing on schedule again."),
            SettingsState.flush_queue,
        ]

    @rx.event(background=True)
    async def flush_queue(self):
        """After Resume, send what waited in the outbox now rather than at the next minute's push job."""
        async with self:
            denied = refusal(self, "push conversions")
            integration_id = self.integration_id
        if denied is not None:
            yield denied
            return
        try:
            summary = await push.run_push(default_hub(), integration_id, "resume")
        except UserFacingError:  # a push is under way (it sends them), or it cannot push now
            return
        if summary.run_id is None:
            return  # nothing was waiting
        async with self:
            if self.integration_id == integration_id:
                self._load()
        yield SourceState.refresh_cards
        yield toast.info(f"Sent what waited while paused. {summary.message}")

    @rx.event
    def ask_disconnect(self):
        if (denied := refusal(self, "disconnect integrations")) is not None:
            return denied
        try:
            self.removal_text = integrations.describe_removal(self.integration_id)
        except ConnectionProblem as exc:
            return toast.error(exc.message)
        self.confirm_open = True

    @rx.event
    def set_confirm_open(self, value: bool) -> None:
        self.confirm_open = value

    @rx.event
    async def disconnect(self):
        if (denied := refusal(self, "disconnect integrations")) is not None:
            yield denied
            return
        self.busy = True
        yield
        try:
            message = await integrations.disconnect(default_hub(), self.integration_id, actor=actor(self))
        except ConnectionProblem as exc:
            self.busy = False
            yield toast.error(exc.message)
            return
        self.busy, self.confirm_open, self.open = False, False, False
        source_href, self.details = self.source_href, None
        yield rx.redirect(source_href)
        yield toast.success(message)
