"""Where Meta lives for Routy: the app id and secret, the Graph API version, the dialog and Graph hosts."""

from __future__ import annotations

from dataclasses import dataclass

from routy_app.config import Settings
from routy_app.providers.context import sandbox_or_live
from routy_app.sandbox_defaults import SANDBOX_META_APP_ID, SANDBOX_META_APP_SECRET


@dataclass(frozen=True)
class MetaEndpoints:
    app_id: str
    app_secret: str
    api_version: str  # e.g. "v25.0" (META_API_VERSION; see versions.py)
    dialog_base_url: str
    graph_base_url: str

    @classmethod
    def from_settings(cls, settings: Settings, sandbox_base: str | None = None) -> MetaEndpoints:
        sandbox = settings.is_sandbox
        return cls(
            app_id=settings.meta_app_id or (SANDBOX_META_APP_ID if sandbox else ""),
            app_secret=settings.meta_app_secret or (SANDBOX_META_APP_SECRET if sandbox else ""),
            api_version=settings.meta_api_version,
            dialog_base_url=sandbox_or_live(
                settings, settings.meta_dialog_base_url, "/facebook", "https://www.facebook.com", sandbox_base
            ),
            graph_base_url=sandbox_or_live(
                settings, settings.meta_graph_base_url, "/graph", "https://graph.facebook.com", sandbox_base
            ),
        )
