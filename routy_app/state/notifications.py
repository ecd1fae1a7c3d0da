"""The Notifications page: alert channels, what alerts per traffic source, incidents, delivery problems.

Secrets (SMTP password, webhook URLs, signing secret) arrive only as the form's submit payload and go
straight to the service: no state var ever holds one, so none is stored in Reflex state or sent back.
Every change is refused unless the signed-in user is an admin (`refusal`); viewers read.
"""

from __future__ import annotations

import reflex as rx

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.services import catalog
from routy_app.services.alerts import channels, delivery, rules, views
from routy_app.services.alerts.channels import ChannelProblem
from routy_app.services.alerts.evaluator import send_test
from routy_app.services.alerts.job import default_transport, kick
from routy_app.services.audit import AuditAction
from routy_app.state import reading, toast
from routy_app.state.auth import AuthState, audit_log, current_user, refusal, resolve_user, sign_in_redirect
from routy_app.state.source import SourceState
from routy_app.timeutil import utcnow


class NotificationsState(rx.State):
    incidents: list[views.IncidentRow] = []
    show_resolved: bool = False
    open_count: int = 0
    channels: rx.Field[list[views.ChannelRow]] = rx.field(default_factory=list)
    problems: rx.Field[list[views.DeliveryRow]] = rx.field(default_factory=list)
    testing_id: int = 0

    # the channel dialog (non-secret values only)
    form_open: bool = False
    form: views.ChannelForm = views.ChannelForm()
    form_errors: dict[str, str] = {}
    form_error: str = ""
    secret_generated: bool = False  # a flag only: the generated secret never leaves the browser's input
    confirm_delete_id: int = 0
    confirm_delete_name: str = ""

    # what alerts, for one traffic source
    rule_source: str = ""
    rule_rows: list[views.RuleRow] = []
    rule_enabled: dict[str, bool] = {}
    rule_errors: dict[str, str] = {}
    rule_version: rx.Field[int] = rx.field(0)  # part of the inputs' keys: a reload resets what they show

    # ------------------------------------------------------------ loading

    def _load(self) -> None:
        with session_scope() as session:
            self.incidents = views.incident_rows(session, open_only=not self.show_resolved)
            self.open_count = views.open_count(session)
            self.channels = views.channel_rows(session)
            self.problems = views.delivery_problems(session)

    def _load_rules(self) -> None:
        source_id = reading.url_id(self.rule_source)
        with session_scope() as session:
            chosen = rules.rules_for_source(session, source_id)
        self.rule_rows = views.rule_rows(chosen)
        self.rule_enabled = {kind: rule.enabled for kind, rule in chosen.items()}
        self.rule_errors = {}
        self.rule_version += 1

    @rx.event
    async def load(self):
        auth_state = await self.get_state(AuthState)
        if resolve_user(auth_state) is None:
            return sign_in_redirect(auth_state)
        source = await self.get_state(SourceState)
        with session_scope() as session:
            source.sources = catalog.list_sources(session)
        source.source_id = 0
        known = {str(s.id) for s in source.sources}
        if self.rule_source not in known:
            self.rule_source = str(source.sources[0].id) if source.sources else ""
        self.form_open, self.confirm_delete_id, self.testing_id = False, 0, 0
        self._load()
        self._load_rules()
        return None

    @rx.event
    def refresh(self):
        if current_user(self) is None:
            return rx.redirect("/login")
        self._load()
        return None

    @rx.event
    def set_show_resolved(self, value: bool):
        if current_user(self) is None:
            return rx.redirect("/login")
        self.show_resolved = value
        self._load()
        return None

    # ------------------------------------------------------------ channels

    @rx.event
    def open_new(self, kind: str):
        if (denied := refusal(self, "add alert channels")) is not None:
            return denied
        if kind not in channels.KIND_LABELS:
            return toast.error("Unknown channel type.")
        self.form = views.ChannelForm(kind=kind)
        self.form_errors, self.form_error, self.form_open, self.secret_generated = {}, "", True, False
        return None

    @rx.event
    def open_edit(self, channel_id: int):
        if (denied := refusal(self, "change alert channels")) is not None:
            return denied
        try:
            with session_scope() as session:
                self.form = views.channel_form(session, channel_id)
        except ChannelProblem as exc:
            return toast.error(exc.message)
        self.form_errors, self.form_error, self.form_open, self.secret_generated = {}, "", True, False
        return None

    @rx.event
    def reveal_generated_secret(self) -> None:
        self.secret_generated = True

    @rx.event
    def set_form_open(self, value: bool) -> None:
        self.form_open = value

    @rx.event
    def save_channel(self, form_data: dict):
        """The dialog's submit: secrets come in `form_data` only and are passed on, never kept."""
        if (denied := refusal(self, "change alert channels")) is not None:
            return denied
        try:
            with session_scope() as session:
                channel = channels.save_channel(session, self.form.id or None, self.form.kind, dict(form_data))
        except ChannelProblem as exc:
            self.form_errors, self.form_error = exc.field_errors, exc.message
            return None
        audit_log(
            self,
            AuditAction.ALERT_CHANNEL_SAVED,
            detail=f"{'Changed' if self.form.id else 'Added'} {channels.KIND_LABELS[channel.kind]} "
            f"channel {channel.name}",
        )
        self.form_open, self.form_errors, self.form_error = False, {}, ""
        self._load()
        return toast.success(f"Saved {channel.name}. Use Send test to check it.")

    @rx.event
    def set_channel_enabled(self, channel_id: int, enabled: bool):
        if (denied := refusal(self, "change alert channels")) is not None:
            return denied
        try:
            with session_scope() as session:
                channel = channels.set_enabled(session, channel_id, enabled)
        except ChannelProblem as exc:
            return toast.error(exc.message)
        audit_log(
            self, AuditAction.ALERT_CHANNEL_SAVED, detail=f"{'Enabled' if enabled else 'Disabled'} {channel.name}"
        )
        self._load()
        return None

    @rx.event
    async def send_test(self, channel_id: int):
        if (denied := refusal(self, "send test alerts")) is not None:
            yield denied
            return
        self.testing_id = channel_id
        yield
        try:
            outcome = await send_test(default_transport(), channel_id, get_settings().public_url)
        except ChannelProblem as exc:
            self.testing_id = 0
            yield toast.error(exc.message)
            return
        self.testing_id = 0
        audit_log(self, AuditAction.ALERT_CHANNEL_TESTED, detail=outcome.message)
        self._load()
        yield toast.success(outcome.message) if outcome.ok else toast.error(outcome.message)

    @rx.event
    def ask_delete(self, channel_id: int, name: str):
        if (denied := refusal(self, "delete alert channels")) is not None:
            return denied
        self.confirm_delete_id, self.confirm_delete_name = channel_id, name
        return None

    @rx.event
    def cancel_delete(self, _open: bool = False) -> None:
        self.confirm_delete_id = 0

    @rx.event
    def delete_channel(self):
        if (denied := refusal(self, "delete alert channels")) is not None:
            return denied
        try:
            with session_scope() as session:
                name = channels.delete_channel(session, self.confirm_delete_id)
        except ChannelProblem as exc:
            self.confirm_delete_id = 0
            return toast.error(exc.message)
        self.confirm_delete_id = 0
        audit_log(self, AuditAction.ALERT_CHANNEL_DELETED, detail=name)
        self._load()
        return toast.success(f"Deleted {name}.")

    @rx.event
    def retry_delivery(self, delivery_id: int):
        if (denied := refusal(self, "retry alert messages")) is not None:
            return denied
        try:
            with session_scope() as session:
                delivery.retry(session, delivery_id, utcnow())
        except delivery.DeliveryProblem as exc:
            return toast.error(exc.message)
        kick()
        self._load()
        return toast.success("Queued again: it is sent within a minute.")

    # ------------------------------------------------------------ what alerts

    @rx.event
    def set_rule_source(self, value: str):
        if current_user(self) is None:
            return rx.redirect("/login")
        self.rule_source = value
        self._load_rules()
        return None

    @rx.event
    def set_rule_enabled(self, kind: str, value: bool):
        if (denied := refusal(self, "change alerts")) is not None:
            return denied
        self.rule_enabled = {**self.rule_enabled, kind: value}
        return None

    @rx.event
    def save_rules(self, form_data: dict):
        if (denied := refusal(self, "change alerts")) is not None:
            return denied
        if not reading.url_id(self.rule_source):
            return toast.error("Choose a traffic source first.")
        try:
            parsed = rules.parse_form(self.rule_enabled, {k: str(v) for k, v in form_data.items()})
            with session_scope() as session:
                changes = rules.save_rules(session, int(self.rule_source), parsed)
        except rules.RuleProblem as exc:
            self.rule_errors = exc.field_errors
            return None
        self.rule_errors = {}
        if changes:
            audit_log(self, AuditAction.ALERT_RULES_CHANGED, source_id=int(self.rule_source), detail="; ".join(changes))
        self._load_rules()
        return toast.success("Alerts saved." if changes else "Nothing changed.")
