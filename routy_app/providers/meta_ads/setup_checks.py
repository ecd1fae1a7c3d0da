"""Set-up checks for a Meta Ads integration: token and permissions, API version, ad account, pixels.

Why: Meta tokens cannot be refreshed (about 60 days, then the user must log in again), a person can
decline a permission in the login dialog (`ads_management` is what the Conversions API needs), and a
pixel (dataset) must be shared with the user who connected. Each shows up late and tersely otherwise.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from routy_app.providers.errors import AuthExpired, ProviderError
from routy_app.providers.setup_checks import (
    CheckResult,
    fail,
    ok,
    provider_text,
    skip,
    unreachable,
    version_check,
    warn,
)
from routy_app.providers.values import Account, Credentials
from routy_app.providers.versions import VersionStatus

if TYPE_CHECKING:
    from routy_app.providers.meta_ads.adapter import MetaAdsProvider

REQUIRED_PERMISSIONS = ("ads_read", "ads_management")
EXPIRY_WARNING = dt.timedelta(days=7)
RECONNECT = "Reconnect Meta Ads (Settings → Connection → Refresh Auth / Reconnect) and allow every permission."


def _failure(name: str, exc: ProviderError, sandbox: bool, fix: str) -> CheckResult:
    if (result := unreachable(name, exc, sandbox)) is not None:
        return result
    if isinstance(exc, AuthExpired) and str(exc.code or "").startswith(("190", "102", "104")):
        return fail(name, provider_text(exc), RECONNECT)  # the token itself is gone
    if isinstance(exc, AuthExpired):  # a permission (codes 10, 200-299): not granted, or not on this asset
        return fail(name, provider_text(exc), f"{fix} If it is, {RECONNECT[0].lower()}{RECONNECT[1:]}")
    return fail(name, provider_text(exc), fix)


async def check(
    adapter: MetaAdsProvider,
    creds: Credentials,
    account: Account,
    version: VersionStatus | None,
    mapped: dict[str, str],
    *,
    sandbox: bool,
) -> list[CheckResult]:
    """`mapped`: pixel id -> the Routy event type mapped to it."""
    version_line = [version_check(version)] if version is not None else []
    results: list[CheckResult] = []
    name = "Token and permissions"
    try:
        info = await adapter.token_info(creds)
    except ProviderError as exc:
        results.append(_failure(name, exc, sandbox, "Check META_APP_ID and META_APP_SECRET."))
        return [
            *results,
            *version_line,
            skip("Ad account", "needs a valid token"),
            skip("Pixels (datasets)", "needs a valid token"),
        ]
    if not info.get("is_valid"):
        error = (info.get("error") or {}).get("message") or "Meta says the token is not valid."
        results.append(fail(name, error, RECONNECT))
        return [
            *results,
            *version_line,
            skip("Ad account", "needs a valid token"),
            skip("Pixels (datasets)", "needs a valid token"),
        ]
    granted = set(info.get("scopes") or [])
    missing = [p for p in REQUIRED_PERMISSIONS if p not in granted]
    expires = int(info.get("expires_at") or 0)
    until = dt.datetime.fromtimestamp(expires, dt.UTC) if expires else None
    when = f"expires {until:%Y-%m-%d}" if until else "does not expire"
    if missing:
        results.append(
            fail(
                name,
                f"Token valid ({when}) but not granted: {', '.join(missing)}.",
                RECONNECT + " ads_management is needed to send conversions.",
            )
        )
    elif until and until - dt.datetime.now(dt.UTC) < EXPIRY_WARNING:
        results.append(warn(name, f"Token valid but {when}; Meta tokens cannot be refreshed.", RECONNECT))
    else:
        results.append(ok(name, f"Token valid ({when}); granted: {', '.join(REQUIRED_PERMISSIONS)}."))
    results.extend(version_line)

    name = "Ad account"
    try:
        await adapter.test_connection(creds, account)
        results.append(ok(name, f"{account.name or account.id} ({account.id}) is readable."))
    except ProviderError as exc:
        results.append(
            _failure(
                name,
                exc,
                sandbox,
                "Give the person who connected access to this ad account in "
                "Business Settings → Accounts → Ad accounts.",
            )
        )

    name = "Pixels (datasets)"
    try:
        pixels = await adapter.list_conversion_actions(creds, account)
    except ProviderError as exc:
        results.append(
            _failure(
                name,
                exc,
                sandbox,
                "In Business Settings → Data sources → Datasets, give the person who connected access to the pixel.",
            )
        )
        return results
    if not pixels:
        results.append(
            fail(
                name,
                f"No pixel (dataset) is shared with ad account {account.id}.",
                "Create one in Events Manager or share an existing one with this ad account.",
            )
        )
        return results
    known = {p.id for p in pixels}
    lost = [f"'{event_type}' → pixel {pixel}" for pixel, event_type in sorted(mapped.items()) if pixel not in known]
    names = ", ".join(p.name for p in pixels[:5])
    if lost:
        results.append(
            fail(
                name,
                "Not accessible: " + "; ".join(lost) + ".",
                f"Share those pixels with the ad account, or map to one of: {names}.",
            )
        )
    else:
        results.append(ok(name, f"{len(pixels)} accessible ({names})."))
    return results
