"""Set-up checks for a GA4 integration: Measurement ID, the stream (validation server), Data API access.

Why: the Measurement Protocol answers 2xx to anything, so a wrong Measurement ID or stream goes unnoticed
until the reports stay empty; the validation server (`/debug/mp/collect`) is the only live check, and it
cannot check the API secret. Pulling needs the service account added to the property (Viewer) and the
Google Analytics Data API enabled on its Cloud project.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from routy_app.providers.errors import ProviderError
from routy_app.providers.ga4.setup import PULL_KEYS, validate_measurement_id
from routy_app.providers.setup_checks import CheckResult, fail, ok, provider_text, skip, unreachable
from routy_app.providers.values import Account, Credentials

if TYPE_CHECKING:
    from routy_app.providers.ga4.adapter import GA4Provider


async def check(adapter: GA4Provider, creds: Credentials, account: Account, *, sandbox: bool) -> list[CheckResult]:
    results: list[CheckResult] = []
    measurement_id = str(creds.extra.get("measurement_id") or "")
    problem = validate_measurement_id(measurement_id)
    if problem:
        return [
            fail(
                "Measurement ID",
                f"{measurement_id!r}: {problem}",
                "Disconnect and set GA4 up again with the stream's Measurement ID.",
            )
        ]
    results.append(ok("Measurement ID", f"{measurement_id} has the format of a web stream's Measurement ID."))

    stream_only = dataclasses.replace(creds, extra={k: v for k, v in creds.extra.items() if k not in PULL_KEYS})
    try:
        await adapter.test_connection(stream_only, account)
        results.append(
            ok(
                "Stream (validation server)",
                "Google's validation server accepts a test event for this stream (it cannot check the API secret).",
            )
        )
    except ProviderError as exc:
        results.append(
            unreachable("Stream (validation server)", exc, sandbox)
            or fail(
                "Stream (validation server)", provider_text(exc), "Check the Measurement ID in Admin → Data streams."
            )
        )

    if not creds.extra.get("property_id"):
        results.append(
            skip(
                "Data API property access",
                "No property ID and service account: metrics are not pulled (conversions are still sent).",
            )
        )
        return results
    try:
        await adapter.list_accounts(creds)  # one small runReport on the property
        results.append(
            ok("Data API property access", f"The service account can read property {creds.extra['property_id']}.")
        )
    except ProviderError as exc:
        results.append(
            unreachable("Data API property access", exc, sandbox)
            or fail(
                "Data API property access",
                provider_text(exc),
                "Add the service account's email as Viewer on the property (Admin → Property access "
                "management) and enable the Google Analytics Data API in its Cloud project.",
            )
        )
    return results
