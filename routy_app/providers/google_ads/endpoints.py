"""Where Google lives for Routy: the OAuth client, the developer token, the API version and five base URLs."""

from __future__ import annotations

from dataclasses import dataclass

from routy_app.config import Settings
from routy_app.providers.context import sandbox_or_live
from routy_app.sandbox_defaults import SANDBOX_GOOGLE_CLIENT_ID, SANDBOX_GOOGLE_CLIENT_SECRET


@dataclass(frozen=True)
class GoogleEndpoints:
    client_id: str
    client_secret: str
    developer_token: str
    api_version: str  # Google Ads API, e.g. "v22" (GOOGLE_ADS_API_VERSION; see versions.py)
    auth_url: str
    token_url: str
    revoke_url: str
    ads_base_url: str
    datamanager_base_url: str
    oauth_testing: bool = False  # the OAuth app's publishing status is "Testing" (7-day refresh tokens)

    @classmethod
    def from_settings(cls, settings: Settings, sandbox_base: str | None = None) -> GoogleEndpoints:
        """Real hosts in live mode, the sandbox's mounts in sandbox mode; an explicit URL setting wins."""

        def url(explicit: str, sandbox_path: str, live: str) -> str:
            return sandbox_or_live(settings, explicit, sandbox_path, live, sandbox_base)

        sandbox = settings.is_sandbox
        return cls(
            client_id=settings.google_client_id or (SANDBOX_GOOGLE_CLIENT_ID if sandbox else ""),
            client_secret=settings.google_client_secret or (SANDBOX_GOOGLE_CLIENT_SECRET if sandbox else ""),
            developer_token=settings.google_ads_developer_token,
            api_version=settings.google_ads_api_version,
            auth_url=url(
                settings.google_auth_url, "/google/o/oauth2/v2/auth", "https://accounts.google.com/o/oauth2/v2/auth"
            ),
            token_url=url(settings.google_token_url, "/google/token", "https://oauth2.googleapis.com/token"),
            revoke_url=url(settings.google_revoke_url, "/google/revoke", "https://oauth2.googleapis.com/revoke"),
            ads_base_url=url(settings.google_ads_base_url, "/googleads", "https://googleads.googleapis.com"),
            datamanager_base_url=url(
                settings.google_datamanager_base_url, "/datamanager", "https://datamanager.googleapis.com"
            ),
            oauth_testing=settings.google_oauth_testing,
        )
