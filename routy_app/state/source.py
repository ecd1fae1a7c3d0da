"""The traffic source page: which source is open, the sources list and the provider cards."""

from __future__ import annotations

import asyncio

import reflex as rx

from routy_app import routes
from routy_app.db import ensure_default_source, session_scope
from routy_app.errors import UserFacingError
from routy_app.services import catalog, integrations, sources
from routy_app.state import reading, toast
from routy_app.state.auth import AuthState, actor, current_user, refusal, resolve_user, sign_in_redirect

CARD_REFRESH_SECONDS = 3
CARD_WATCH_LIMIT = 30 * 60  # a tab left open stops watching after half an hour (a reload starts again)


class SourceState(rx.State):
    """Loaded on every source page view; cards are plain dicts (display values only)."""

    source_id: int = 0
    source_name: str = ""
    sources: list[catalog.SourceItem] = []
    cards: list[catalog.ProviderCard] = []
    not_found: bool = False
    flash_error: str = ""
    clean_query: bool = False  # drop the one-time OAuth query from the address bar (components/notices.py)
    _watching: bool = False
    focus_integration: int = 0  # back from this integration's page: its card's Settings link takes the focus
    source_dialog: str = ""  # "new" | "rename" | "" (the traffic source name dialog)
    source_error: str = ""

    def _requested_id(self) -> int:
        raw = self.router.page.params.get("source_id", "")
        return reading.url_id(raw)

    @rx.event
    async def load(self):
        """The page's sources and cards (the connect dialogs and Settings load themselves: routy_app.py)."""
        auth_state = await self.get_state(AuthState)
        if resolve_user(auth_state) is None:
            self.sources, self.cards, self.source_name = [], [], ""
            return sign_in_redirect(auth_state)
        requested = self._requested_id() or ensure_default_source()
        with session_scope() as session:
            sources = catalog.list_sources(session)
            match = next((s for s in sources if s.id == requested), None)
            self.sources = sources
            self.not_found = match is None
            self.source_id = match.id if match else 0
            self.source_name = match.name if match else ""
            self.cards = catalog.cards_for_source(session, self.source_id) if match else []
        self._after_oauth()
        return SourceState.watch_cards

    def _after_oauth(self) -> None:
        """Say why an OAuth callback failed, from its code in the query string (see api/oauth.py).

        `oauth_error` is a code: only our own text for a known code is shown, so a link with
        made-up text cannot dress it up as a message from Routy. A success is ConnectState's to act on.
        """
        params = self.router.page.params
        self.flash_error = integrations.callback_message(
            str(params.get("oauth_error", "")), str(params.get("provider", ""))
        )
        # Drop the one-time query so a reload does not replay it (components/notices.py does it).
        self.clean_query = any(k in params for k in ("oauth_error", "connected", "integration", "provider", "from"))
        back_from = str(params.get("from", ""))
        self.focus_integration = reading.url_id(back_from)
        # No toast: the callout above the cards says it (role=alert); both would say it twice.

    @rx.event
    def focus_returned(self) -> None:
        self.focus_integration = 0

    @rx.event
    def query_cleaned(self) -> None:
        self.clean_query = False

    @rx.event
    def refresh_cards(self) -> None:
        if current_user(self) is None:
            return
        with session_scope() as session:
            self.cards = catalog.cards_for_source(session, self.source_id)

    @rx.event(background=True)
    async def watch_cards(self):
        """Keep the cards current while a source page is open: a run started by the schedule, another
        user or another tab shows as Syncing… on its card, and its outcome when it ends."""
        async with self:
            if self._watching:
                return
            self._watching = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CARD_WATCH_LIMIT
        try:
            while loop.time() < deadline:
                await asyncio.sleep(CARD_REFRESH_SECONDS)
                async with self:
                    path = str(self.router.page.path)
                    if (
                        current_user(self) is None
                        or "/integrations/" in path
                        or path not in ("/", "/sources/[source_id]")
                    ):
                        return
                    with session_scope() as session:
                        cards = catalog.cards_for_source(session, self.source_id)
                    if cards != self.cards:
                        self.cards = cards
        finally:
            async with self:
                self._watching = False

    @rx.event
    def open_source_dialog(self, which: str):
        if (denied := refusal(self, "create or rename traffic sources")) is not None:
            return denied
        self.source_dialog = which if which in ("new", "rename") else ""
        self.source_error = ""
        return None

    @rx.event
    def source_dialog_changed(self, is_open: bool) -> None:
        if not is_open:
            self.source_dialog, self.source_error = "", ""

    @rx.event
    def save_source(self, form: dict):
        """Create a traffic source (then open it), or rename the open one."""
        if (denied := refusal(self, "create or rename traffic sources")) is not None:
            return denied
        name = form.get("name", "") if isinstance(form, dict) else ""
        try:
            if self.source_dialog == "new":
                new_id = sources.create_source(name, actor=actor(self))
                self.source_dialog = ""
                return [rx.redirect(routes.source(new_id)), toast.success("Traffic source created.")]
            if self.source_dialog == "rename" and self.source_id:
                self.source_name = sources.rename_source(self.source_id, name, actor=actor(self))
                self.source_dialog = ""
                with session_scope() as session:
                    self.sources = catalog.list_sources(session)
                return toast.success("Traffic source renamed.")
        except UserFacingError as exc:
            self.source_error = exc.message
        return None
