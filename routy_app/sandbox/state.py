"""The emulator's memory: issued codes and tokens, received events, settings. One per sandbox app."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from routy_app.sandbox.faults import FaultRegistry


@dataclass
class SandboxConfig:
    """Knobs tests and benchmarks turn (POST /sandbox/_control/config)."""

    seed: int = 42
    access_token_lifetime: int = 3599  # seconds (Google access tokens; Meta short-lived token)
    meta_long_lived_lifetime: int = 5_184_000  # about 60 days
    days: int = 90  # days of history every account has
    campaigns_per_account: int = 3
    ad_groups_per_campaign: int = 2
    ads_per_ad_group: int = 2
    keywords_per_ad_group: int = 3
    verdict_after_polls: int = 1  # requestStatus answers PROCESSING this many times first


@dataclass
class IssuedToken:
    provider: str  # "google" | "meta"
    kind: str  # "access" | "refresh"
    value: str
    expires_at: float | None  # epoch seconds; None = never
    scope: str = ""
    subject: str = "sandbox-user"
    revoked: bool = False
    refresh_token: str | None = None  # for access tokens minted from a refresh token
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class AuthCode:
    provider: str
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    used: bool = False


class TokenStore:
    """Codes and tokens for the emulated OAuth servers; tokens are opaque random strings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, IssuedToken] = {}

    def issue_code(self, provider: str, client_id: str, redirect_uri: str, scope: str,
                   code_challenge: str | None, code_challenge_method: str | None) -> str:
        code = f"{provider[:1]}c-" + secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = AuthCode(provider, code, client_id, redirect_uri, scope, code_challenge,
                                        code_challenge_method, time.time() + 600)
        return code

    def take_code(self, code: str) -> AuthCode | None:
        """The code if it exists, is unused and unexpired; marks it used (codes are single use)."""
        with self._lock:
            found = self.codes.get(code)
            if found is None or found.used or found.expires_at < time.time():
                return None
            found.used = True
            return found

    def issue(self, provider: str, kind: str, lifetime: float | None, scope: str = "",
              refresh_token: str | None = None, prefix: str = "") -> IssuedToken:
        value = prefix + secrets.token_urlsafe(32)
        token = IssuedToken(provider, kind, value, None if lifetime is None else time.time() + lifetime,
                            scope, refresh_token=refresh_token)
        with self._lock:
            self.tokens[value] = token
        return token

    def get(self, value: str) -> IssuedToken | None:
        return self.tokens.get(value)

    def check(self, value: str | None) -> str:
        """'ok', 'missing', 'invalid', 'expired' or 'revoked' for an access token."""
        if not value:
            return "missing"
        token = self.tokens.get(value)
        if token is None:
            return "invalid"
        if token.revoked:
            return "revoked"
        if token.expires_at is not None and token.expires_at < time.time():
            return "expired"
        return "ok"

    def expire(self, value: str) -> bool:
        token = self.tokens.get(value)
        if token is None:
            return False
        token.expires_at = time.time() - 1
        return True

    def revoke(self, value: str) -> bool:
        """Revoke a token; revoking a refresh token also revokes the access tokens minted from it."""
        token = self.tokens.get(value)
        if token is None:
            return False
        with self._lock:
            token.revoked = True
            if token.kind == "refresh":
                for other in self.tokens.values():
                    if other.refresh_token == value:
                        other.revoked = True
        return True

    def all_values(self) -> list[str]:
        return list(self.tokens)


class SandboxState:
    """Everything one emulator instance remembers. Provider modules hang their own parts here."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.faults = FaultRegistry()
        self.tokens = TokenStore()
        self.received: dict[str, list[dict[str, Any]]] = {"google_ads": [], "meta_ads": [], "ga4": []}
        self.extra: dict[str, Any] = {}  # per-provider state (dedup indexes, report runs, requests)
        self.lock = threading.Lock()

    def record(self, provider: str, event: dict[str, Any]) -> None:
        with self.lock:
            self.received[provider].append(event)

    def reset(self) -> None:
        self.__init__(SandboxConfig(seed=self.config.seed))
