"""The shape of a set-up check (`python -m routy_app doctor`, Settings → Connection → Check set-up).

Why: a self-hoster with real credentials needs to know, before the first sync, which part of the set-up
is wrong and what to do about it, in words, with the provider's own text one step away. Each provider
module (google_ads_setup, meta_setup, ga4_setup) turns its live calls into these results; services/doctor
runs them for every connected integration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from routy_app.providers.errors import ProviderError, RateLimited, TransientError
from routy_app.providers.versions import VersionStatus

CheckStatus = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class CheckResult:
    """One line of the report: what was checked, how it went, what was found and what to do."""

    name: str
    status: CheckStatus
    message: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"


def ok(name: str, message: str) -> CheckResult:
    return CheckResult(name, "ok", message)


def warn(name: str, message: str, fix: str = "") -> CheckResult:
    return CheckResult(name, "warn", message, fix)


def fail(name: str, message: str, fix: str = "") -> CheckResult:
    return CheckResult(name, "fail", message, fix)


def skip(name: str, message: str) -> CheckResult:
    return CheckResult(name, "skip", message)


def version_check(status: VersionStatus) -> CheckResult:
    """The configured API version: sunset fails, a sunset within the warning window warns."""
    name = "API version"
    text = f"{status.setting}={status.version}: {status.message}"
    if status.level == "error":
        return fail(name, text, f"Set {status.setting}={status.newest} and restart Routy.")
    if status.level == "warning":
        plan = (
            f"Plan the move to {status.newest} ({status.setting})."
            if status.version != status.newest
            else "Update Routy before then; it will default to the next version."
        )
        return warn(name, text, plan)
    return ok(name, text)


def provider_text(exc: ProviderError) -> str:
    """The provider's own words, with its code and request id when it gave them."""
    parts = [exc.message]
    if exc.code:
        parts.append(f"[{exc.code}]")
    if exc.request_id:
        parts.append(f"(request-id {exc.request_id})")
    return " ".join(parts)


def unreachable(name: str, exc: ProviderError, sandbox: bool) -> CheckResult | None:
    """The result for a transport failure or throttling (None for any other error)."""
    if isinstance(exc, RateLimited):
        return warn(name, f"Throttled: {provider_text(exc)}", "Check again in a few minutes.")
    if isinstance(exc, TransientError):
        hint = (
            "In sandbox mode the emulator is served by Routy itself: start Routy (make run) and check "
            "that PUBLIC_URL is where it listens."
            if sandbox
            else "Check this server's network access to the provider, then check again."
        )
        return fail(name, provider_text(exc), hint)
    return None
