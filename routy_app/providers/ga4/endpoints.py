"""Where GA4 lives for Routy: the Measurement Protocol host, the Data API host, Google's token endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from routy_app.config import Settings
from routy_app.providers.context import sandbox_or_live


@dataclass(frozen=True)
class GA4Endpoints:
    mp_base_url: str
    data_api_base_url: str
    token_url: str  # the token endpoint service-account keys may name (the sandbox's, in sandbox mode)

    @classmethod
    def from_settings(cls, settings: Settings, sandbox_base: str | None = None) -> GA4Endpoints:
        return cls(
            mp_base_url=sandbox_or_live(
                settings, settings.ga4_mp_base_url, "/ga", "https://www.google-analytics.com", sandbox_base
            ),
            data_api_base_url=sandbox_or_live(
                settings,
                settings.ga4_data_api_base_url,
                "/analyticsdata",
                "https://analyticsdata.googleapis.com",
                sandbox_base,
            ),
            token_url=sandbox_or_live(
                settings,
                settings.google_token_url,
                "/google/token",
                "https://oauth2.googleapis.com/token",
                sandbox_base,
            ),
        )
