"""Settings → Conversion Mappings (live provider actions, enable/disable, test push) and Push History."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from routy_app.db import session_scope
from routy_app.errors import UserFacingError
from routy_app.services import mappings, push, wording
from routy_app.services.hub import default_hub
from routy_app.services.push import retry as push_retry
from routy_app.services.push import validation
from routy_app.state import paging, reading, toast
from routy_app.state.auth import actor, current_user, refusal
from routy_app.state.settings import SettingsState

PUSH_PAGE_SIZE = 20
PUSH_FILTERS = ("all", "pending", "sent", "failed", "skipped")  # the Push History filter's choices


@dataclass(frozen=True)
class MappingRow:
    id: int
    event_type: str
    label: str
    enabled: bool
    missing: bool


@dataclass(frozen=True)
class ActionOption:
    id: str
    name: str


@dataclass(frozen=True)
class ChoiceView:
    value: str
    label: str


@dataclass(frozen=True)
class MappingFieldView:
    """An extra field of the mapping form (the provider's `MappingSpec.extra`), e.g. Google's event source."""

    name: str
    label: str
    choices: list[ChoiceView]  # empty: a text input
    default: str
    description: str = ""


@dataclass(frozen=True)
class ConversionOption:
    id: str
    label: str


class MappingsState(rx.State):
    rows: rx.Field[list[MappingRow]] = rx.field(default_factory=list)
    actions: list[ActionOption] = []
    action_is_text: bool = False  # the target is typed (GA4 event names), not chosen from the account's list
    action_label: str = "Provider action"
    action_needed: bool = True  # False: a mapping only picks event types (the Webhook)
    validation_note: str = ""  # what Test push does at this provider
    extra_fields: list[MappingFieldView] = []
    extra_values: dict[str, str] = {}
    actions_error: str = ""
    form_error: str = ""
    new_action: str = ""
    test_mapping_id: int = 0
    test_conversions: list[ConversionOption] = []
    test_conversion: str = ""
    test_payload: str = ""
    test_answer: str = ""
    test_ok: bool = False
    _missing: list[int] = []

    async def _integration_id(self) -> int:
        return await reading.integer(self, SettingsState.integration_id)

    def _load_rows(self, integration_id: int) -> None:
        with session_scope() as session:
            self.rows = [
                MappingRow(m.id, m.event_type, m.label, m.enabled, m.id in self._missing)
                for m in mappings.list_mappings(session, integration_id)
            ]
            spec = mappings.spec_for(session, integration_id)
            self.validation_note = validation.validation_note(session, integration_id)
        self.action_needed = spec is None or spec.action is not None
        self.action_is_text = spec is not None and not spec.live_actions
        self.action_label = spec.action.label if spec is not None and spec.action is not None else "Provider action"
        self.extra_fields = [
            MappingFieldView(
                f.name, f.label, [ChoiceView(c.value, c.label) for c in f.choices], f.default, f.description
            )
            for f in (spec.extra if spec is not None else ())
        ]

    @rx.event
    def load_page(self):
        """The integration page's loader for this tab's data (the tab is in the URL). Signed out, it
        does nothing: SourceState.load sends the browser to sign in and back to this tab."""
        if current_user(self) is None:
            return None
        return MappingsState.on_tab(str(self.router.page.params.get("tab", "")))

    @rx.event
    def on_tab(self, tab: str):
        return MappingsState.load if tab == "mappings" else None

    @rx.event
    async def load(self):
        if current_user(self) is None:
            yield rx.redirect("/login")
            return
        integration_id = await self._integration_id()
        self.form_error, self.actions_error = "", ""
        self.new_action, self.actions = "", []
        self._load_rows(integration_id)
        self.extra_values = {f.name: f.default for f in self.extra_fields}
        # A Test push opened on this tab stays open (a quick click can reach the server before this load
        # does); one for a mapping of another integration, or a deleted one, closes.
        if self.test_mapping_id not in {row.id for row in self.rows}:
            self.test_mapping_id = 0
        yield
        try:
            actions = await mappings.available_actions(default_hub(), integration_id)
            self._missing = await mappings.flag_missing(default_hub(), integration_id)
        except mappings.MappingProblem as exc:
            self.actions_error = exc.message
            return
        self.actions = [ActionOption(str(a.id).rsplit("/", 1)[-1], a.name) for a in actions]
        self._load_rows(integration_id)

    @rx.event
    def set_new_action(self, value: str) -> None:
        self.new_action = value

    @rx.event
    def set_extra(self, name: str, value: str) -> None:
        if name in {f.name for f in self.extra_fields}:  # events come from the browser: anything can arrive
            self.extra_values = {**self.extra_values, name: value}

    @rx.event
    async def add(self, form: dict):
        if (denied := refusal(self, "change conversion mappings")) is not None:
            return denied
        integration_id = await self._integration_id()
        event_type = str(form.get("event_type", "")).strip().lower()
        action_id = self.new_action or str(form.get("action_id", "")).strip()
        if self.action_needed and not self.action_is_text and action_id not in {a.id for a in self.actions}:
            self.form_error = "Choose one of the provider's actions listed here."
            return None
        name = next((a.name for a in self.actions if a.id == action_id), action_id)
        extra = {f.name: self.extra_values.get(f.name, "") for f in self.extra_fields}
        try:
            view = await mappings.save_mapping(
                default_hub(), integration_id, event_type, action_id, name, extra, actor=actor(self)
            )
        except mappings.MappingProblem as exc:
            self.form_error = exc.message
            return None
        self.form_error, self.new_action = "", ""
        self.extra_values = {f.name: f.default for f in self.extra_fields}
        self._load_rows(integration_id)
        return toast.success(f"'{event_type}' conversions now go to {view.label}.")

    @rx.event
    async def toggle(self, mapping_id: int, enabled: bool):
        if (denied := refusal(self, "change conversion mappings")) is not None:
            return denied
        integration_id = await self._integration_id()
        try:
            mappings.set_enabled(mapping_id, enabled, actor=actor(self))
        except mappings.MappingProblem as exc:
            return toast.error(exc.message)
        self._load_rows(integration_id)
        return None

    @rx.event
    async def delete(self, mapping_id: int):
        if (denied := refusal(self, "change conversion mappings")) is not None:
            return denied
        integration_id = await self._integration_id()
        try:
            mappings.delete_mapping(mapping_id, actor=actor(self))
        except mappings.MappingProblem as exc:
            return toast.error(exc.message)
        self._load_rows(integration_id)
        return None

    @rx.event
    async def open_test(self, mapping_id: int):
        """Offer the latest conversions of the mapping's event type to test with."""
        if (denied := refusal(self, "send test pushes")) is not None:
            return denied
        row = next((r for r in self.rows if r.id == mapping_id), None)
        integration_id = await self._integration_id()
        with session_scope() as session:
            samples = validation.sample_conversions(session, integration_id, row.event_type if row else "")
        self.test_conversions = [ConversionOption(str(conv_id), label) for conv_id, label in samples]
        self.test_mapping_id, self.test_payload, self.test_answer = mapping_id, "", ""
        self.test_conversion = self.test_conversions[0].id if self.test_conversions else ""

    @rx.event
    def set_test_conversion(self, value: str) -> None:
        self.test_conversion = value

    @rx.event
    async def run_test(self):
        if (denied := refusal(self, "send test pushes")) is not None:
            yield denied
            return
        if not self.test_conversion:
            self.test_answer, self.test_ok = "Record a conversion of this event type first (Conversions tab).", False
            return
        self.test_answer = "Sending…"
        yield
        try:
            result = await push.validate_push(
                default_hub(), await self._integration_id(), self.test_mapping_id, int(self.test_conversion)
            )
        except UserFacingError as exc:
            self.test_answer, self.test_ok = exc.message, False
            return
        self.test_payload, self.test_answer, self.test_ok = result.payload_json, result.answer_text, result.ok


@dataclass(frozen=True)
class ReasonOption:
    value: str
    label: str


ANY_REASON = "any"  # (Radix selects take no empty value)
REASON_LABEL_CHARS = 90


class PushHistoryState(rx.State):
    rows: list[push.PushRow] = []
    total: int = 0
    page: int = 1
    status_filter: str = "all"
    reason_filter: str = ANY_REASON
    reasons: rx.Field[list[ReasonOption]] = rx.field(default_factory=list)
    failed_in_view: rx.Field[int] = rx.field(0)  # what "Retry all failed" would queue again
    pushing: bool = False
    last_result: str = ""

    @rx.var
    def total_text(self) -> str:
        return wording.number(self.total)

    async def _integration_id(self) -> int:
        return await reading.integer(self, SettingsState.integration_id)

    def _reason(self) -> str | None:
        """The reason filter in force (it applies to the Failed view only)."""
        return self.reason_filter if self.status_filter == "failed" and self.reason_filter != ANY_REASON else None

    def _load(self, integration_id: int) -> None:
        if current_user(self) is None:
            self.rows, self.total, self.reasons, self.failed_in_view = [], 0, [], 0
            return
        with session_scope() as session:
            found = push_retry.failure_reasons(session, integration_id)
            self.reasons = [ReasonOption(r.reason, _reason_label(r.reason, r.count)) for r in found]
            if self.reason_filter != ANY_REASON and self.reason_filter not in {r.reason for r in found}:
                self.reason_filter = ANY_REASON  # nothing failed for that reason any more
            self.rows, self.total = push.push_history(
                session, integration_id, self.status_filter, self.page, PUSH_PAGE_SIZE, self._reason()
            )
            self.failed_in_view = (
                push_retry.count_failed(session, integration_id, self._reason())
                if self.status_filter in ("all", "failed")
                else 0
            )

    @rx.event
    def load_page(self):
        """The integration page's loader for this tab's data (the tab is in the URL). Signed out, it
        does nothing: SourceState.load sends the browser to sign in and back to this tab."""
        if current_user(self) is None:
            return None
        return PushHistoryState.on_tab(str(self.router.page.params.get("tab", "")))

    @rx.event
    def on_tab(self, tab: str):
        return PushHistoryState.load if tab == "push" else None

    @rx.event
    async def load(self):
        if current_user(self) is None:
            return rx.redirect("/login")
        # last_result stays: the tab may be reloaded right after Push now (the integration's status changed),
        # and the person has not read the answer yet; the next Push now replaces it.
        self.page = 1
        self._load(await self._integration_id())
        return None

    @rx.event
    async def set_filter(self, value: str):
        if value not in PUSH_FILTERS:  # only a crafted event sends another value
            return
        self.status_filter, self.page = value, 1
        if value != "failed":
            self.reason_filter = ANY_REASON
        self._load(await self._integration_id())

    @rx.event
    async def set_reason_filter(self, value: str):
        if not isinstance(value, str):
            return
        self.reason_filter, self.page = value[:2000], 1
        self._load(await self._integration_id())

    @rx.event
    async def go(self, delta: int):
        self.page = paging.move(self.page, delta, self.total, PUSH_PAGE_SIZE)
        self._load(await self._integration_id())

    @rx.event
    async def retry(self, push_id: int):
        if (denied := refusal(self, "retry pushes")) is not None:
            return denied
        try:
            push.retry_row(push_id, actor=actor(self))
        except UserFacingError as exc:
            return toast.error(exc.message)
        self._load(await self._integration_id())
        return toast.info("Queued again; it goes out with the next push (or press Push now).")

    @rx.event
    async def retry_all(self):
        """Queue every failed row of the view again (all failed ones, or those of the chosen reason)."""
        if (denied := refusal(self, "retry pushes")) is not None:
            return denied
        integration_id = await self._integration_id()
        if self.status_filter not in ("all", "failed"):
            return toast.info("Nothing in this view has failed.")
        reason = self._reason()
        count = push_retry.retry_failed(integration_id, reason, actor=actor(self))
        self._load(integration_id)
        if not count:
            return toast.info("Nothing to retry: no failed pushes in this view.")
        return toast.success(
            f"{count:,} failed conversion{'s' if count != 1 else ''} queued again: "
            "they go out with the next push (within a minute), or press Push now."
        )

    @rx.event
    async def push_now(self):
        if (denied := refusal(self, "push conversions")) is not None:
            yield denied
            return
        integration_id = await self._integration_id()
        self.pushing = True
        yield
        try:
            summary = await push.run_push(default_hub(), integration_id, "manual")
            self.last_result = summary.message
        except UserFacingError as exc:  # already running, or it cannot push now
            self.last_result = str(exc)
        self.pushing = False
        self._load(integration_id)
        yield SettingsState.reload


def _reason_label(reason: str, count: int) -> str:
    text = reason or "no reason given"
    if len(text) > REASON_LABEL_CHARS:
        text = text[: REASON_LABEL_CHARS - 1] + "…"
    return f"{text} ({count:,})"
