"""Set-up checks for a Google Ads integration: token and scopes, API version, both APIs, account, actions.

Why each check: Google Ads needs two APIs enabled on the Cloud project that owns the OAuth client
(Google Ads API, Data Manager API), two scopes granted at consent (granular consent lets a user untick
one), an account the consenting user can read (directly or through its manager), and at least one
enabled UPLOAD_CLICKS conversion action owned by that account. A wrong part surfaces on the first
sync or push as a terse 403; here it is named with what to do in the Cloud console or Google Ads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from routy_app.providers.errors import AuthExpired, ProviderError
from routy_app.providers.google_ads.oauth import ADWORDS_SCOPE, DATAMANAGER_SCOPE
from routy_app.providers.google_ads.rules import destination_problem
from routy_app.providers.google_ads.verdicts import UNKNOWN
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
from routy_app.providers.values import Account, ConversionAction, Credentials
from routy_app.providers.versions import VersionStatus

if TYPE_CHECKING:
    from routy_app.providers.google_ads.adapter import GoogleAdsProvider

PROBE_REQUEST_ID = "routy-set-up-check"  # not a real request: Data Manager answers INVALID_REQUEST_ID when reachable
SCOPE_NAMES = {ADWORDS_SCOPE: "adwords (Google Ads API)", DATAMANAGER_SCOPE: "datamanager (Data Manager API)"}


def _reconnect(what: str) -> str:
    return (
        f"{what} Reconnect Google Ads (Settings → Connection → Refresh Auth / Reconnect) and leave every box "
        "ticked on Google's consent screen."
    )


def _api_failure(
    name: str, api: str, exc: ProviderError, client_id: str, sandbox: bool, account: Account | None = None
) -> CheckResult:
    """A failed call to one of the two APIs, with what to do about it."""
    if (result := unreachable(name, exc, sandbox)) is not None:
        return result
    text = provider_text(exc)
    if exc.code == "SERVICE_DISABLED":
        return fail(
            name,
            text,
            f"Enable the {api} in the Google Cloud console for the project that owns OAuth "
            f"client {client_id or '(GOOGLE_CLIENT_ID)'}: APIs & Services → Library → {api} → "
            "Enable (Google's message above has the direct link), wait a few minutes, check again.",
        )
    if exc.code in ("ACCESS_TOKEN_SCOPE_INSUFFICIENT", "CREDENTIALS_MISSING") or isinstance(exc, AuthExpired):
        return fail(name, text, _reconnect("The authorisation does not cover this API."))
    if exc.code in ("USER_PERMISSION_DENIED", "PERMISSION_DENIED", "CUSTOMER_NOT_ENABLED"):
        target = f"customer {account.id}" if account else "this account"
        via = f" or through manager {account.login_customer_id}" if account and account.login_customer_id else ""
        return fail(
            name,
            text,
            f"The Google user who connected cannot reach {target} directly{via}. Grant that "
            "user access in Google Ads (Admin → Access and security), or reconnect as a user who "
            "has it.",
        )
    if exc.code in ("CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION", "DEVELOPER_TOKEN_NOT_APPROVED"):
        return fail(
            name,
            text,
            "This Cloud project has test-level access only: apply for production access in the "
            "Google Ads API Center, or use test accounts.",
        )
    return fail(name, text, f"See Google's message; the {api} refused the call.")


async def check(
    adapter: GoogleAdsProvider,
    creds: Credentials,
    account: Account,
    version: VersionStatus | None,
    mapped: dict[str, str],
    *,
    sandbox: bool,
) -> list[CheckResult]:
    """Every check, in order; later checks are skipped when the token is gone (a refresh reaches the
    adapter's on_refresh, so the caller stores it).

    `mapped`: conversion action id -> the Routy event type mapped to it (each must stay a valid destination).
    """
    client_id = adapter.endpoints.client_id
    version_line = [version_check(version)] if version is not None else []
    results: list[CheckResult] = []
    name = "Token and scopes"
    if creds.refresh_token:
        try:
            creds = await adapter.refresh(creds)
        except AuthExpired as exc:
            results.append(
                fail(
                    name,
                    f"Google refused the refresh token: {provider_text(exc)}",
                    _reconnect("The grant was revoked or expired."),
                )
            )
            results.extend(version_line)
            return [
                *results,
                skip("Google Ads API", "needs a valid token"),
                skip("Data Manager API", "needs a valid token"),
            ]
        except ProviderError as exc:
            results.append(unreachable(name, exc, sandbox) or fail(name, provider_text(exc)))
            return [*results, *version_line]
    missing = adapter.missing_scopes(creds)
    if missing:
        results.append(
            fail(
                name,
                "Not granted: " + ", ".join(SCOPE_NAMES.get(s, s) for s in missing) + ".",
                _reconnect("Routy needs both permissions: reports need adwords, conversions need datamanager."),
            )
        )
    else:
        fresh = "refreshed" if creds.refresh_token else "valid"
        results.append(ok(name, f"Access token {fresh}; granted: adwords and datamanager."))
    results.extend(version_line)

    name = "Google Ads API"
    try:
        reachable = await adapter.accessible_customer_ids(creds)
        results.append(ok(name, f"Reachable with this OAuth client; {len(reachable)} customer(s) accessible directly."))
    except ProviderError as exc:
        results.append(_api_failure(name, "Google Ads API", exc, client_id, sandbox))

    name = "Account"
    try:
        await adapter.test_connection(creds, account)
        via = f" through manager {account.login_customer_id}" if account.login_customer_id else ""
        results.append(ok(name, f"{account.name or account.id} ({account.id}) is readable{via}."))
    except ProviderError as exc:
        results.append(_api_failure(name, "Google Ads API", exc, client_id, sandbox, account))

    name = "Data Manager API"
    try:
        verdict = await adapter.check_verdict(creds, PROBE_REQUEST_ID)
        if verdict.status == UNKNOWN and verdict.detail:  # the API answered, so it is enabled and takes the token
            results.append(ok(name, "Reachable with this OAuth client (a probe request id was refused as expected)."))
        else:
            results.append(ok(name, "Reachable with this OAuth client."))
    except ProviderError as exc:
        results.append(_api_failure(name, "Data Manager API", exc, client_id, sandbox, account))

    results.append(await _actions(adapter, creds, account, mapped, sandbox))
    return results


async def _actions(
    adapter: GoogleAdsProvider, creds: Credentials, account: Account, mapped: dict[str, str], sandbox: bool
) -> CheckResult:
    name = "Conversion actions"
    try:
        listed = await adapter.list_conversion_actions(creds, account)
    except ProviderError as exc:
        return _api_failure(name, "Google Ads API", exc, adapter.endpoints.client_id, sandbox, account)
    usable: list[ConversionAction] = [a for a in listed if destination_problem(account, a) is None]
    if not usable:
        return fail(
            name,
            f"No enabled UPLOAD_CLICKS conversion action owned by {account.id}.",
            "In Google Ads: Goals → Conversions → New conversion action → Import → from clicks; then map "
            "Routy event types to it (Conversion Mappings).",
        )
    problems = []
    by_id = {a.id: a for a in listed}
    for action_id, event_type in sorted(mapped.items(), key=lambda item: item[1]):
        action = by_id.get(action_id)
        if action is None:
            problems.append(f"'{event_type}' maps to action {action_id}, which is gone, disabled or not UPLOAD_CLICKS")
        elif (problem := destination_problem(account, action)) is not None:
            problems.append(f"'{event_type}': {problem}")
    names = ", ".join(a.name for a in usable[:5]) + (" …" if len(usable) > 5 else "")
    if problems:
        return fail(name, "; ".join(problems) + ".", "Change these mappings to one of: " + names + ".")
    if not mapped:
        return warn(
            name,
            f"{len(usable)} usable UPLOAD_CLICKS action(s) ({names}), but no mapping yet: nothing is pushed.",
            "Map Routy event types in Conversion Mappings.",
        )
    return ok(name, f"{len(usable)} usable UPLOAD_CLICKS action(s) ({names}); every mapping points at one.")
