"""Settings from the environment, with defaults that run the app offline on SQLite and the sandbox.

Every setting is documented in the README's configuration table. `get_settings()` is cached; tests
that change the environment call `reload_settings()`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import ipaddress
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from routy_app.providers import versions
from routy_app.providers.google_ads.versions import GOOGLE_ADS_API
from routy_app.providers.meta_ads.versions import MARKETING_API

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
    log_format: Literal["text", "json"] = Field(default="text", alias="ROUTY_LOG_FORMAT")

    # Operations (README "Operations", docs/deployment.md); REDIS_URL is with the security settings below.
    # Bearer token guarding GET /metrics (Prometheus); unset: /metrics answers 404.
    metrics_token: str = Field(default="", alias="ROUTY_METRICS_TOKEN")
    # Where the provider emulator is served in sandbox mode (default PUBLIC_URL + /sandbox, our own mount);
    # an emulator served as its own process lets several replicas share one (tests/scale does).
    sandbox_base_url: str = Field(default="", alias="ROUTY_SANDBOX_URL")

    # Security (README "Security"). REDIS_URL switches Reflex to its Redis state manager (several
    # workers or replicas); without it UI state lives in this process's memory only.
    redis_url: str = Field(default="", alias="REDIS_URL")
    trusted_proxies: str = Field(default="", alias="TRUSTED_PROXIES")
    # Each event socket gets a UI state kept for an hour; new sockets per client address are limited so a
    # stranger cannot fill the server's memory (a browser tab opens one, and one more per reconnect).
    socket_handshakes_per_minute: int = Field(default=60, ge=1, le=100_000, alias="ROUTY_SOCKET_HANDSHAKES_PER_MINUTE")
    sandbox_control_token: str = Field(default="", alias="ROUTY_SANDBOX_CONTROL_TOKEN")
    # Webhooks (the Webhook card, alert webhooks) may go to this machine (localhost, 127.0.0.1, ::1): off
    # by default (outbound/guard.py); sandbox mode allows it anyway (the sandbox is served by Routy itself).
    webhook_allow_local: bool = Field(default=False, alias="ROUTY_WEBHOOK_ALLOW_LOCAL")

    # Crash recovery and coordination between instances (services/leases.py, leadership.py, scheduler.py).
    # The defaults meet the recovery targets (README: "Crashes and restarts"); tests shorten them.
    lease_ttl_seconds: float = Field(default=60.0, gt=0, le=3600, alias="ROUTY_LEASE_TTL_SECONDS")
    sweep_seconds: float = Field(default=60.0, gt=0, le=3600, alias="ROUTY_SWEEP_SECONDS")
    push_every_seconds: float = Field(default=60.0, gt=0, le=3600, alias="ROUTY_PUSH_EVERY_SECONDS")
    change_poll_seconds: float = Field(default=10.0, gt=0, le=3600, alias="ROUTY_CHANGE_POLL_SECONDS")

    # Google (Ads API, Data Manager API, OAuth). Empty base URLs mean "the real host" in live mode
    # and "our sandbox" in sandbox mode; see `provider_urls`.
    google_client_id: str = Field(default="", alias="GOOGLE_CLIENT_ID")
    google_client_secret: str = Field(default="", alias="GOOGLE_CLIENT_SECRET")
    google_ads_developer_token: str = Field(default="", alias="GOOGLE_ADS_DEVELOPER_TOKEN")
    google_ads_api_version: str = Field(default=GOOGLE_ADS_API.newest.name, alias="GOOGLE_ADS_API_VERSION")
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
    meta_api_version: str = Field(default=MARKETING_API.newest.name, alias="META_API_VERSION")
    meta_dialog_base_url: str = Field(default="", alias="META_DIALOG_BASE_URL")
    meta_graph_base_url: str = Field(default="", alias="META_GRAPH_BASE_URL")

    # GA4 (Measurement Protocol, Data API).
    ga4_mp_base_url: str = Field(default="", alias="GA4_MP_BASE_URL")
    ga4_data_api_base_url: str = Field(default="", alias="GA4_DATA_API_BASE_URL")

    # How many days before an API version's sunset Routy starts warning (start-up, /healthz, Settings).
    version_warning_days: int = Field(
        default=versions.DEFAULT_WARNING_DAYS, ge=0, le=730, alias="ROUTY_VERSION_WARNING_DAYS"
    )

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a port that is no number
        except ValueError:
            raise ValueError("is not a valid URL") from None
        if not parts.hostname:
            raise ValueError("has no host name")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for item in _split(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("google_ads_api_version")
    @classmethod
    def _google_version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d{1,3}", value.strip()):
            raise ValueError(f"{value!r} is not a Google Ads API version (like {GOOGLE_ADS_API.newest.name})")
        return value.strip()

    @field_validator("meta_api_version")
    @classmethod
    def _meta_version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d{1,3}\.\d", value.strip()):
            raise ValueError(f"{value!r} is not a Graph API version (like {MARKETING_API.newest.name})")
        return value.strip()

    @field_validator("sandbox_base_url")
    @classmethod
    def _sandbox_base(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
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
        configured = [(GOOGLE_ADS_API, self.google_ads_api_version), (MARKETING_API, self.meta_api_version)]
        return versions.configured_statuses(configured, today, self.version_warning_days)

    @property
    def webhooks_may_reach_local(self) -> bool:
        """Whether webhook URLs may point at this machine (sandbox mode or ROUTY_WEBHOOK_ALLOW_LOCAL)."""
        return self.is_sandbox or self.webhook_allow_local

    @property
    def public_origin(self) -> str:
        """scheme://host[:port] of PUBLIC_URL: the only origin allowed to talk to us from a browser."""
        parts = urlsplit(self.public_url)
        host = parts.hostname or ""  # lowercase, without brackets or user info
        host = f"[{host}]" if ":" in host else host
        default = 443 if parts.scheme == "https" else 80
        port = "" if parts.port in (None, default) else f":{parts.port}"
        return f"{parts.scheme}://{host}{port}"  # as browsers write Origin: no default port

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(item, strict=False) for item in _split(self.trusted_proxies))

    @property
    def sandbox_url(self) -> str:
        """Where the provider emulator is served: ROUTY_SANDBOX_URL, else our own backend's /sandbox mount."""
        return self.sandbox_base_url or f"{self.public_url}/sandbox"


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.replace(";", ",").split(",") if item.strip()]


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


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) for Routy's own files, readable by this user only (0700).

    An existing folder is narrowed to 0700 too: the data dir holds the key file and the database.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):  # someone else's folder (e.g. shared via a volume): leave it
        path.chmod(0o700)
    return path


def reflex_options() -> dict[str, Any]:
    """The rx.Config settings that follow from ours (rxconfig.py passes them on).

    One process by default: the memory state manager, so no UI state (which holds request data)
    is ever written to disk. With REDIS_URL: Reflex's Redis state manager, for several workers or
    replicas. Browsers may reach the backend (CORS, the event socket) only from PUBLIC_URL's origin.
    """
    settings = get_settings()
    options: dict[str, Any] = {"cors_allowed_origins": [settings.public_origin]}
    if settings.redis_url:
        options.update(state_manager_mode="redis", redis_url=settings.redis_url)
    else:
        options.update(state_manager_mode="memory")
    return options
