"""The traffic source page: which source is open, the sources list and the provider cards."""

from __future__ import annotations

import reflex as rx

from routy_app.db import ensure_default_source, session_scope
from routy_app.services import catalog, integrations
from routy_app.state import toast
from routy_app.state.auth import AuthState, current_user, resolve_user, sign_in_redirect


class SourceState(rx.State):
    """Loaded on every source page view; cards are plain dicts (display values only)."""

    source_id: int = 0
    source_name: str = ""
    sources: list[catalog.SourceItem] = []
    cards: list[catalog.ProviderCard] = []
    not_found: bool = False
    flash_error: str = ""
    clean_query: bool = False  # drop the one-time OAuth query from the address bar (components/notices.py)

    def _requested_id(self) -> int:
        raw = self.router.page.params.get("source_id", "")
        return int(raw) if str(raw).isdigit() else 0

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
        return self._after_oauth()

    def _after_oauth(self):
        """Say why an OAuth callback failed, from its code in the query string (see api/oauth.py).

        `oauth_error` is a code: only our own text for a known code is shown, so a link with
        made-up text cannot dress it up as a message from Routy. A success is ConnectState's to act on.
        """
        params = self.router.page.params
        self.flash_error = integrations.callback_message(
            str(params.get("oauth_error", "")), str(params.get("provider", ""))
        )
        # Drop the one-time query so a reload does not replay it (components/notices.py does it).
        self.clean_query = any(k in params for k in ("oauth_error", "connected", "integration", "provider"))
        return toast.error(self.flash_error) if self.flash_error else None

    @rx.event
    def query_cleaned(self) -> None:
        self.clean_query = False

    @rx.event
    def refresh_cards(self) -> None:
        if current_user(self) is None:
            return
        with session_scope() as session:
            self.cards = catalog.cards_for_source(session, self.source_id)
