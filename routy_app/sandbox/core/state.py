"""The emulator's memory: issued codes and tokens, received events, settings. One per sandbox app."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

from routy_app.sandbox.core import jsonio
from routy_app.sandbox.core.faults import FaultRegistry

PartT = TypeVar("PartT")


@dataclass
class SandboxConfig:
    """Knobs tests and benchmarks turn (POST /sandbox/_control/config)."""

    seed: int = 42
    access_token_lifetime: int = 3599  # seconds (Google access tokens; Meta short-lived token)
    meta_long_lived_lifetime: int = 5_184_000  # about 60 days
    # Google refresh tokens: None = until revoked (an app "In production"); 604_799 emulates an OAuth app
    # in "Testing", whose consent ends after 7 days (the token answer then carries refresh_token_expires_in).
    google_refresh_token_lifetime: int | None = None
    days: int = 90  # days of history every account has
    campaigns_per_account: int = 3
    ad_groups_per_campaign: int = 2
    ads_per_ad_group: int = 2
    keywords_per_ad_group: int = 3
    verdict_after_polls: int = 1  # requestStatus answers PROCESSING this many times first
    # The app's PUBLIC_URL, whose /oauth/<provider>/callback URLs are the OAuth clients' registered redirect
    # URIs (sandbox/core/clients.py); None: the PUBLIC_URL environment variable, as the app reads it.
    public_url: str | None = None


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
    refresh_hash: str | None = None  # survives a restart when the token is signed (see TokenStore)


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


def _short_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:24]


class TokenStore:
    """Codes and tokens for the emulated OAuth servers.

    Without a secret, tokens are opaque random strings known only to this process. With one (the
    app passes a key derived from its own secret key), tokens also carry their claims signed with
    HMAC, so tokens issued before a restart stay valid afterwards, as real providers' do; only
    expiries and revocations made through the control API are lost with the process.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self._lock = threading.Lock()
        self._secret = secret
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, IssuedToken] = {}

    def issue_code(
        self,
        provider: str,
        client_id: str,
        redirect_uri: str,
        scope: str,
        code_challenge: str | None,
        code_challenge_method: str | None,
    ) -> str:
        code = f"{provider[:1]}c-" + secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = AuthCode(
                provider, code, client_id, redirect_uri, scope, code_challenge, code_challenge_method, time.time() + 600
            )
        return code

    def take_code(self, code: str) -> AuthCode | None:
        """The code if it exists, is unused and unexpired; marks it used (codes are single use)."""
        with self._lock:
            found = self.codes.get(code)
            if found is None or found.used or found.expires_at < time.time():
                return None
            found.used = True
            return found

    def issue(
        self,
        provider: str,
        kind: str,
        lifetime: float | None,
        scope: str = "",
        refresh_token: str | None = None,
        prefix: str = "",
    ) -> IssuedToken:
        expires_at = None if lifetime is None else time.time() + lifetime
        refresh_hash = _short_hash(refresh_token) if refresh_token else None
        value = prefix + secrets.token_urlsafe(32)
        if self._secret is not None:
            claims = {
                "p": provider,
                "k": kind,
                "e": expires_at,
                "s": scope,
                "rh": refresh_hash,
                "n": secrets.token_urlsafe(12),
            }
            body = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
            value = f"{prefix}{body}.{self._sign(prefix + body)}"
        token = IssuedToken(
            provider, kind, value, expires_at, scope, refresh_token=refresh_token, refresh_hash=refresh_hash
        )
        with self._lock:
            self.tokens[value] = token
        return token

    def _sign(self, text: str) -> str:
        assert self._secret is not None
        mac = hmac.new(self._secret, text.encode(), hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(mac).decode()

    def _from_signature(self, value: str) -> IssuedToken | None:
        """Rebuild a token issued by an earlier run of this sandbox (same secret)."""
        if self._secret is None or "." not in value:
            return None
        signed, _, mac = value.rpartition(".")
        if not hmac.compare_digest(mac, self._sign(signed)):
            return None
        start = signed.find("eyJ")  # base64 of '{"' : where the claims begin after the provider's prefix
        if start < 0:
            return None
        body = signed[start:]
        try:
            claims = jsonio.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        token = IssuedToken(
            claims["p"], claims["k"], value, claims.get("e"), claims.get("s") or "", refresh_hash=claims.get("rh")
        )
        with self._lock:
            self.tokens.setdefault(value, token)
        return self.tokens[value]

    def get(self, value: str) -> IssuedToken | None:
        return self.tokens.get(value) or self._from_signature(value)

    def check(self, value: str | None) -> str:
        """'ok', 'missing', 'invalid', 'expired' or 'revoked' for an access token."""
        if not value:
            return "missing"
        token = self.get(value)
        if token is None:
            return "invalid"
        if token.revoked:
            return "revoked"
        if token.expires_at is not None and token.expires_at < time.time():
            return "expired"
        return "ok"

    def expire(self, value: str) -> bool:
        token = self.get(value)
        if token is None:
            return False
        token.expires_at = time.time() - 1
        return True

    def revoke(self, value: str) -> bool:
        """Revoke a token; revoking a refresh token also revokes the access tokens minted from it."""
        token = self.get(value)
        if token is None:
            return False
        with self._lock:
            token.revoked = True
            if token.kind == "refresh":
                value_hash = _short_hash(value)
                for other in self.tokens.values():
                    if other.refresh_token == value or other.refresh_hash == value_hash:
                        other.revoked = True
        return True

    def all_values(self) -> list[str]:
        return list(self.tokens)


class SandboxState:
    """Everything one emulator instance remembers. Each host module keeps its own part (see `part`)."""

    config: SandboxConfig
    faults: FaultRegistry
    tokens: TokenStore
    received: dict[str, list[dict[str, Any]]]  # what each provider accepted, for tests and /_control/received

    def __init__(self, config: SandboxConfig | None = None, secret: bytes | None = None) -> None:
        self.secret = secret
        self.lock = threading.Lock()
        self._start(config or SandboxConfig())

    def _start(self, config: SandboxConfig) -> None:
        self.config = config
        self.faults = FaultRegistry()
        self.tokens = TokenStore(self.secret)
        self.received = {"google_ads": [], "meta_ads": [], "ga4": [], "webhook": []}
        self._parts: dict[type, object] = {}

    def part(self, kind: type[PartT]) -> PartT:
        """A host's own memory (dedup indexes, report runs, request verdicts): `kind()` on first use.

        Look it up on every call rather than keeping it: /_control/reset starts every part afresh.
        """
        with self.lock:
            found = self._parts.get(kind)
            if not isinstance(found, kind):
                found = kind()
                self._parts[kind] = found
            return found

    def record(self, provider: str, event: dict[str, Any]) -> None:
        with self.lock:
            self.received[provider].append(event)

    def reset(self) -> None:
        """Forget everything but the seed and the signing secret (POST /sandbox/_control/reset)."""
        self._start(SandboxConfig(seed=self.config.seed))
