"""The traffic source's Conversions tab: recent events, the ingest API key, a test-conversion form."""

from __future__ import annotations

from typing import Any

import reflex as rx

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.services import conversions, wording
from routy_app.state import paging, reading, toast
from routy_app.state.auth import actor, current_user, refusal
from routy_app.state.source import SourceState

PAGE_SIZE = 20


class ConversionsState(rx.State):
    rows: list[conversions.ConversionRow] = []
    total: int = 0

    @rx.var
    def total_text(self) -> str:
        return wording.number(self.total)

    page: int = 1
    key_description: str = ""
    new_key: str = ""  # shown once, in the dialog right after creation/rotation; see __getstate__
    form_error: str = ""
    form_field: str = ""
    api_url: str = ""

    def __getstate__(self) -> dict[str, Any]:
        """What a state manager (Redis) stores: everything but the one-time key.

        The key exists only in memory while its dialog is open (closing it clears it) and in the
        browser that shows it; a pickled copy would outlive the dialog.
        """
        fields = dict(super().__getstate__())
        fields["new_key"] = ""
        return fields

    async def _source_id(self) -> int:
        return await reading.integer(self, SourceState.source_id)

    def _load(self, source_id: int) -> None:
        with session_scope() as session:
            self.rows, self.total = conversions.recent_conversions(session, source_id, self.page, PAGE_SIZE)
            self.key_description = conversions.describe_key(session, source_id)
        self.api_url = f"{get_settings().public_url}/api/v1/conversions"

    @rx.event
    async def load(self):
        if current_user(self) is None:
            return rx.redirect("/login")
        self.new_key, self.form_error, self.form_field, self.page = "", "", "", 1
        self._load(await self._source_id())
        return None

    @rx.event
    async def tab_changed(self, tab: str):
        """The source page's tabs: load conversions when their tab is shown."""
        if tab == "conversions":
            return await self.load()
        return None

    @rx.event
    async def go(self, delta: int):
        if current_user(self) is None:
            return rx.redirect("/login")
        self.page = paging.move(self.page, delta, self.total, PAGE_SIZE)
        self._load(await self._source_id())

    @rx.event
    async def rotate_key(self):
        if (denied := refusal(self, "create or rotate API keys")) is not None:
            return denied
        source_id = await self._source_id()
        with session_scope() as session:
            self.new_key = conversions.create_api_key(session, source_id, actor=actor(self))
        self._load(source_id)
        return None

    @rx.event
    def key_dialog_changed(self, is_open: bool) -> None:
        """The new-key dialog was closed: the key is gone from the server for good."""
        if not is_open:
            self.new_key = ""

    @rx.event
    async def record_test(self, form: dict):
        if (denied := refusal(self, "record conversions")) is not None:
            return denied
        source_id = await self._source_id()
        form = {k.removeprefix("conv_"): v for k, v in form.items()}  # Reflex keys form data by element id
        fields: dict[str, Any] = {k: str(v).strip() for k, v in form.items() if not k.startswith("consent_")}
        consent = {k.removeprefix("consent_"): str(v) for k, v in form.items() if k.startswith("consent_") and v}
        if consent:
            fields["consent"] = consent
        try:
            with session_scope() as session:
                conv = conversions.record_test_conversion(session, source_id, fields)
        except conversions.ValidationFailed as exc:
            first = exc.errors[0] if exc.errors else None
            self.form_error = exc.message
            self.form_field = first.field if first else ""
            return None
        self.form_error, self.form_field, self.page = "", "", 1
        self._load(source_id)
        return toast.success(f"Recorded test conversion {conv.external_id} ({conv.event_type}).")
