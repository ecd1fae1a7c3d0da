"""Connecting: the card's main button, the OAuth redirect, the account picker and the GA4 form."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from routy_app import routes
from routy_app.db import ensure_default_source, session_scope
from routy_app.models import IntegrationStatus
from routy_app.providers import registry
from routy_app.providers.definition import AuthScheme
from routy_app.providers.errors import ProviderError
from routy_app.services import catalog, integrations
from routy_app.services.hub import default_hub
from routy_app.services.integrations import ConnectionProblem
from routy_app.state import reading, toast
from routy_app.state.auth import actor, current_user, refusal, session_id
from routy_app.state.source import SourceState


@dataclass(frozen=True)
class SetupChoiceView:
    value: str
    label: str


@dataclass(frozen=True)
class SetupFieldView:
    """One input of a manual set-up form (providers' `SetupField`), display-ready."""

    name: str
    label: str
    kind: str  # text | secret | textarea | url | choice
    placeholder: str
    description: str
    heading: str  # the group heading shown above this field ("" for none, or when the group continues)
    default: str = ""  # the value the form starts with (never a secret: secrets have no default)
    choices: tuple[SetupChoiceView, ...] = ()


def _field_views(provider: str) -> list[SetupFieldView]:
    views, group = [], ""
    defaults = integrations.setup_defaults(provider)
    for f in registry.get(provider).setup_fields:
        heading = f.group if f.group and f.group != group else ""
        group = f.group
        views.append(
            SetupFieldView(
                f.name,
                f.label,
                f.kind.value,
                f.placeholder,
                f.description,
                heading,
                defaults.get(f.name, ""),
                tuple(SetupChoiceView(c.value, c.label) for c in f.choices),
            )
        )
    return views


@dataclass(frozen=True)
class AccountRow:
    id: str
    name: str
    currency: str
    timezone: str
    manager: bool
    child: bool
    selectable: bool
    status_label: str = ""
    reason: str = ""


SEARCH_FROM = 10  # the picker gets a search box once there are more accounts than this


class ConnectState(rx.State):
    """One picker dialog and one set-up form dialog for the page (never one per card)."""

    picker_open: bool = False
    picker_integration_id: int = 0
    picker_provider_name: str = ""
    picker_loading: bool = False
    picker_error: str = ""
    accounts: rx.Field[list[AccountRow]] = rx.field(default_factory=list)
    selected_account: str = ""
    account_search: str = ""

    @rx.var
    def shown_accounts(self) -> list[AccountRow]:
        """The accounts matching the search box (by name or id)."""
        needle = self.account_search.strip().lower()
        if not needle:
            return self.accounts
        return [a for a in self.accounts if needle in a.name.lower() or needle in a.id.lower()]

    @rx.var
    def searchable(self) -> bool:
        return len(self.accounts) > SEARCH_FROM

    setup_open: bool = False
    setup_provider: str = ""
    setup_title: str = ""
    setup_intro: str = ""
    setup_fields: list[SetupFieldView] = []
    setup_saving: bool = False
    setup_field_errors: dict[str, str] = {}
    setup_error: str = ""

    redirecting: str = ""
    redirect_url: str = ""  # the provider's consent page; components/notices.py follows it

    @rx.event
    async def card_action(self, provider: str, status: str, integration_id: int):
        """What the card's main button does, by status (catalog.STATUS_DISPLAY; Settings opens itself)."""
        if (denied := refusal(self, "connect integrations")) is not None:
            return denied
        if status == "not_connected":
            definition = registry.get(provider)
            if definition.auth is AuthScheme.MANUAL:
                self.setup_provider, self.setup_title = provider, definition.name
                self.setup_intro, self.setup_fields = definition.setup_intro, _field_views(provider)
                self.setup_open, self.setup_field_errors, self.setup_error = True, {}, ""
                return None
            return await self._start(provider, None)
        if status == "pending_account":
            return ConnectState.open_picker(integration_id)
        if status == "reconnect_required":
            return await self._start(provider, integration_id)
        return None

    @rx.event
    async def reconnect(self, provider: str, integration_id: int):
        """Refresh Auth / Reconnect: a new OAuth flow for the same integration (settings kept)."""
        if (denied := refusal(self, "reconnect integrations")) is not None:
            return denied
        return await self._start(provider, integration_id)

    async def _start(self, provider: str, integration_id: int | None):
        source = await self.get_state(SourceState)
        try:
            url = await integrations.start_oauth(
                default_hub(),
                source.source_id,
                provider,
                reconnect_integration_id=integration_id,
                session_id=session_id(self),
            )
        except ConnectionProblem as exc:
            return toast.error(exc.message)
        # A full page load, not client-side routing (the sandbox's consent page is on our own host):
        # a link in the page follows it when it appears (no script string for the browser to eval).
        self.redirecting, self.redirect_url = provider, url
        return None

    @rx.event
    def on_page_load(self):
        """A page load starts with no dialog open; back from a provider's consent page, a new grant opens
        the account picker and a reconnected one says so (the callback's query: api/oauth.py)."""
        self.redirecting = self.redirect_url = ""
        self.picker_open = self.setup_open = False
        params = self.router.page.params
        integration_id = reading.url_id(params.get("integration", ""))
        if not params.get("connected") or not integration_id or current_user(self) is None:
            return None
        with session_scope() as session:
            card = catalog.card_of(session, integration_id)
        if card is None or card.href != routes.source(self._page_source_id()):
            return None  # not this page's integration
        if card.status == IntegrationStatus.PENDING_ACCOUNT:
            return ConnectState.open_picker(integration_id)
        return toast.success(f"{card.name} is reconnected and active again.")

    def _page_source_id(self) -> int | None:
        raw = str(self.router.page.params.get("source_id", ""))
        return reading.url_id(raw) or ensure_default_source()

    # ------------------------------------------------------------ account picker

    @rx.event
    async def open_picker(self, integration_id: int):
        if (denied := refusal(self, "connect integrations")) is not None:
            yield denied
            return
        with session_scope() as session:
            card = catalog.card_of(session, integration_id)
        if card is None:
            yield toast.error("This integration no longer exists.")
            return
        self.picker_provider_name = card.name
        self.picker_integration_id = integration_id
        self.picker_open, self.picker_loading, self.picker_error = True, True, ""
        self.accounts, self.selected_account, self.account_search = [], "", ""
        yield
        try:
            choices = await integrations.list_account_choices(default_hub(), integration_id)
        except (ConnectionProblem, ProviderError) as exc:
            self.picker_error = exc.message
            self.picker_loading = False
            yield SourceState.refresh_cards
            return
        self.accounts = [
            AccountRow(
                id=c.id,
                name=c.name,
                currency=c.currency,
                timezone=c.timezone,
                manager=c.manager,
                child=bool(c.parent_id),
                selectable=c.selectable,
                status_label=c.status_label,
                reason=c.reason,
            )
            for c in choices
        ]
        if len([a for a in self.accounts if a.selectable]) == 1:
            self.selected_account = next(a.id for a in self.accounts if a.selectable)
        self.picker_loading = False

    @rx.event
    def set_picker_open(self, value: bool) -> None:
        """Closing without a choice leaves the card at Pending account selection (tokens kept)."""
        self.picker_open = value

    @rx.event
    def set_account_search(self, value: str) -> None:
        self.account_search = str(value)[:200]

    @rx.event
    def choose_account(self, account_id: str) -> None:
        self.selected_account = account_id

    @rx.event
    async def link_account(self):
        if (denied := refusal(self, "connect integrations")) is not None:
            yield denied
            return
        if not self.selected_account:
            self.picker_error = "Pick an account first."
            return
        try:
            integration = await integrations.select_account(
                default_hub(), self.picker_integration_id, self.selected_account, actor=actor(self)
            )
        except (ConnectionProblem, ProviderError) as exc:
            self.picker_error = exc.message
            return
        self.picker_open = False
        yield SourceState.refresh_cards
        yield toast.success(
            f"{self.picker_provider_name} is active: linked {integration.account_name} ({integration.account_id})."
        )

    # ------------------------------------------------------------ manual set-up form

    @rx.event
    def set_setup_open(self, value: bool) -> None:
        self.setup_open = value
        if not value:
            self.setup_field_errors, self.setup_error = {}, ""

    @rx.event
    async def save_setup(self, form: dict):
        if (denied := refusal(self, "connect integrations")) is not None:
            yield denied
            return
        self.setup_saving, self.setup_field_errors, self.setup_error = True, {}, ""
        yield
        source = await self.get_state(SourceState)
        name = self.setup_title
        try:
            integration = await integrations.setup_manual(
                default_hub(),
                source.source_id,
                self.setup_provider,
                {k: str(v) for k, v in form.items()},
                actor=actor(self),
            )
        except ConnectionProblem as exc:
            self.setup_saving = False
            if exc.field_errors:
                self.setup_field_errors = exc.field_errors
            else:
                self.setup_error = exc.message
            return
        self.setup_saving, self.setup_open = False, False
        yield SourceState.refresh_cards
        yield toast.success(f"{name} is active for {integration.account_id}.")
