"""Settings from the environment, with defaults that run the app offline on SQLite and the sandbox.

Every setting is documented in the README's configuration table. `get_settings()` is cached; tests
that change the environment call `reload_settings()`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from routy_app.providers import versions

ProviderMode = Literal["sandbox", "live"]


class ConfigError(RuntimeError):
    """A setting is unusable; the message names the setting and is shown as one line."""


class Settings(BaseSettings):
    """All runtime configuration. Environment variable names are given by `alias`."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore")

    data_dir: Path = Field(default=Path("data"), alias="ROUTY_DATA_DIR")
    database_url: str = Field(default="", alias="DATABASE_URL")
    secret_key: str = Field(default="", alias="ROUTY_SECRET_KEY")
    public_url: str = Field(default="http://localhost:3000", alias="PUBLIC_URL")
    provider_mode: ProviderMode | None = Field(default=None, alias="ROUTY_PROVIDER_MODE")
    scheduler_enabled: bool = Field(default=True, alias="ROUTY_SCHEDULER_ENABLED")
    log_level: str = Field(default="INFO", alias="ROUTY_LOG_LEVEL")

    # Google (Ads API, Data Manager API, OAuth). Empty base URLs mean "the real host" in live mode
    # and "our sandbox" in sandbox mode; see `provider_urls`.
    google_client_id: str = Field(default="", alias="GOOGLE_CLIENT_ID")
    google_client_secret: str = Field(default="", alias="GOOGLE_CLIENT_SECRET")
    google_ads_developer_token: str = Field(default="", alias="GOOGLE_ADS_DEVELOPER_TOKEN")
    google_ads_api_version: str = Field(default=versions.DEFAULT_GOOGLE_ADS_VERSION, alias="GOOGLE_ADS_API_VERSION")
    google_auth_url: str = Field(default="", alias="GOOGLE_AUTH_URL")
    google_token_url: str = Field(default="", alias="GOOGLE_TOKEN_URL")
    google_revoke_url: str = Field(default="", alias="GOOGLE_REVOKE_URL")
    google_ads_base_url: str = Field(default="", alias="GOOGLE_ADS_BASE_URL")
    google_datamanager_base_url: str = Field(default="", alias="GOOGLE_DATAMANAGER_BASE_URL")
    # The OAuth consent screen's publishing status is "Testing": Google ends each consent after 7 days.
    # Routy reads Google's `refresh_token_expires_in` when it is sent; this covers answers without it.
    google_oauth_testing: bool = Field(default=False, alias="GOOGLE_OAUTH_TESTING")

    # Meta (Graph API, Conversions API, OAuth dialog).
    meta_app_id: str = Field(default="", alias="META_APP_ID")
    meta_app_secret: str = Field(default="", alias="META_APP_SECRET")
    meta_api_version: str = Field(default=versions.DEFAULT_META_VERSION, alias="META_API_VERSION")
    meta_dialog_base_url: str = Field(default="", alias="META_DIALOG_BASE_URL")
    meta_graph_base_url: str = Field(default="", alias="META_GRAPH_BASE_URL")

    # GA4 (Measurement Protocol, Data API).
    ga4_mp_base_url: str = Field(default="", alias="GA4_MP_BASE_URL")
    ga4_data_api_base_url: str = Field(default="", alias="GA4_DATA_API_BASE_URL")

    # How many days before an API version's sunset Routy starts warning (start-up, /healthz, Settings).
    version_warning_days: int = Field(default=versions.DEFAULT_WARNING_DAYS, ge=0, le=730,
                                      alias="ROUTY_VERSION_WARNING_DAYS")

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("google_ads_api_version")
    @classmethod
    def _google_version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d{1,3}", value.strip()):
            raise ValueError(f"{value!r} is not a Google Ads API version (like {versions.DEFAULT_GOOGLE_ADS_VERSION})")
        return value.strip()

    @field_validator("meta_api_version")
    @classmethod
    def _meta_version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d{1,3}\.\d", value.strip()):
            raise ValueError(f"{value!r} is not a Graph API version (like {versions.DEFAULT_META_VERSION})")
        return value.strip()

    @model_validator(mode="after")
    def _defaults(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'routy.db').as_posix()}"
        try:
            make_url(self.database_url)
        except ArgumentError as exc:
            raise ValueError(f"DATABASE_URL: could not parse {self.database_url!r} ({exc})") from None
        if self.provider_mode is None:
            has_real = bool(self.google_client_id or self.meta_app_id)
            self.provider_mode = "live" if has_real else "sandbox"
        return self

    @property
    def is_sandbox(self) -> bool:
        return self.provider_mode == "sandbox"

    def api_versions(self, today: dt.date | None = None) -> list[versions.VersionStatus]:
        """The configured Google Ads and Meta API versions judged against their published sunsets."""
        return versions.configured_statuses(self.google_ads_api_version, self.meta_api_version, today,
                                            self.version_warning_days)

    @property
    def sandbox_url(self) -> str:
        """Where the built-in provider emulator is mounted on our own backend."""
        return f"{self.public_url}/sandbox"


def _describe(exc: ValidationError) -> str:
    """One line naming each bad setting by its environment variable."""
    parts = []
    for err in exc.errors():
        loc = err.get("loc") or ()
        name = str(loc[0]) if loc else ""
        field = Settings.model_fields.get(name)
        env_name = (field.alias if field and field.alias else name).upper()
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{env_name}: {msg}" if env_name and not msg.startswith(env_name) else msg)
    return "; ".join(parts)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; raises ConfigError with one readable line when invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(f"Invalid configuration: {_describe(exc)}") from None


def reload_settings() -> Settings:
    """Forget cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
    return get_settings()
