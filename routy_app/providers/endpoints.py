"""Where each provider lives: real hosts in live mode, our own /sandbox mount in sandbox mode.

Any single URL can still be overridden by its environment variable (see config.py), which is how
tests point adapters at the sandbox served in-process.
"""

from __future__ import annotations

from dataclasses import dataclass

from routy_app.config import Settings

SANDBOX_GOOGLE_CLIENT_ID = "sandbox-google-client-id.apps.googleusercontent.com"
SANDBOX_GOOGLE_CLIENT_SECRET = "sandbox-google-client-secret"
SANDBOX_META_APP_ID = "100000000000001"
SANDBOX_META_APP_SECRET = "sandbox-meta-app-secret"

LIVE = {
    "google_auth_url": "https://accounts.google.com/o/oauth2/v2/auth",
    "google_token_url": "https://oauth2.googleapis.com/token",
    "google_revoke_url": "https://oauth2.googleapis.com/revoke",
    "google_ads_base_url": "https://googleads.googleapis.com",
    "google_datamanager_base_url": "https://datamanager.googleapis.com",
    "meta_dialog_base_url": "https://www.facebook.com",
    "meta_graph_base_url": "https://graph.facebook.com",
    "ga4_mp_base_url": "https://www.google-analytics.com",
    "ga4_data_api_base_url": "https://analyticsdata.googleapis.com",
}

# Paths of each emulated host under the sandbox mount (routy_app/sandbox/app.py mounts the same).
SANDBOX_PATHS = {
    "google_auth_url": "/google/o/oauth2/v2/auth",
    "google_token_url": "/google/token",
    "google_revoke_url": "/google/revoke",
    "google_ads_base_url": "/googleads",
    "google_datamanager_base_url": "/datamanager",
    "meta_dialog_base_url": "/facebook",
    "meta_graph_base_url": "/graph",
    "ga4_mp_base_url": "/ga",
    "ga4_data_api_base_url": "/analyticsdata",
}


@dataclass(frozen=True)
class Endpoints:
    """Resolved base URLs and client credentials for every provider."""

    google_client_id: str
    google_client_secret: str
    google_ads_developer_token: str
    google_ads_api_version: str
    google_auth_url: str
    google_token_url: str
    google_revoke_url: str
    google_ads_base_url: str
    google_datamanager_base_url: str
    meta_app_id: str
    meta_app_secret: str
    meta_api_version: str
    meta_dialog_base_url: str
    meta_graph_base_url: str
    ga4_mp_base_url: str
    ga4_data_api_base_url: str
    google_oauth_testing: bool = False  # the OAuth app's publishing status is "Testing" (7-day refresh tokens)

    @classmethod
    def from_settings(cls, settings: Settings, sandbox_base: str | None = None) -> Endpoints:
        """Resolve URLs; `sandbox_base` (e.g. "http://sandbox.test/sandbox") overrides PUBLIC_URL."""
        base = (sandbox_base or settings.sandbox_url).rstrip("/")
        urls = {}
        for name, live in LIVE.items():
            explicit = getattr(settings, name)
            urls[name] = (explicit or (base + SANDBOX_PATHS[name] if settings.is_sandbox else live)).rstrip("/")
        sandbox = settings.is_sandbox
        return cls(
            google_client_id=settings.google_client_id or (SANDBOX_GOOGLE_CLIENT_ID if sandbox else ""),
            google_client_secret=settings.google_client_secret or (SANDBOX_GOOGLE_CLIENT_SECRET if sandbox else ""),
            google_ads_developer_token=settings.google_ads_developer_token,
            google_ads_api_version=settings.google_ads_api_version,
            meta_app_id=settings.meta_app_id or (SANDBOX_META_APP_ID if sandbox else ""),
            meta_app_secret=settings.meta_app_secret or (SANDBOX_META_APP_SECRET if sandbox else ""),
            meta_api_version=settings.meta_api_version,
            google_oauth_testing=settings.google_oauth_testing,
            **urls,
        )
