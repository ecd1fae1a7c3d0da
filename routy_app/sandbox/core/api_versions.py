"""Which API versions the emulated hosts still serve, judged by today's date as the real hosts do.

Why its own table (not routy_app/providers/versions.py): the sandbox stands in for the providers and
checks our adapters, so it must not take their settings on trust. A default that names a version
the provider has switched off fails here, in our own tests, the day it fails in production.

- Google Ads API: from the sunset date on, every request fails with HTTP 400 INVALID_ARGUMENT and
  `requestError: UNSUPPORTED_VERSION`, "Version vNN is deprecated. Requests to this version will be
  blocked." (bodies reported in googleads/google-ads-python#332 and google-marketing-solutions/adios#47);
  a version that never existed is a plain 404.
- Meta Marketing API: after expiry, "(#2635) You are calling a deprecated version of the Ads API.
  Please update to the latest version" (Meta developer blog, 2024-04-16). Meta may instead auto-upgrade
  calls to endpoints that did not change; the sandbox takes the strict branch, which is what an app
  that opted out of auto-upgrade sees.
"""

from __future__ import annotations

import datetime as dt
import re

# Exact sunset days from Google's sunset reminders; majors without one are still served.
GOOGLE_ADS_SUNSET: dict[int, dt.date] = {
    19: dt.date(2026, 2, 11),
    20: dt.date(2026, 6, 10),
    21: dt.date(2026, 8, 5),
    22: dt.date(2026, 10, 7),
}
GOOGLE_ADS_NEWEST = 26
# Marketing API version history: expiration dates.
META_EXPIRY: dict[str, dt.date] = {
    "v22.0": dt.date(2026, 2, 19),
    "v23.0": dt.date(2026, 6, 9),
    "v24.0": dt.date(2026, 11, 10),
    "v25.0": dt.date(2027, 2, 23),
}
META_SERVED = ("v22.0", "v23.0", "v24.0", "v25.0", "v26.0", "v27.0")
META_NEWEST = "v27.0"


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def google_ads(version: str, today: dt.date | None = None) -> str:
    """'ok', 'sunset' (UNSUPPORTED_VERSION) or 'unknown' (404) for a /{version}/ path segment."""
    match = re.fullmatch(r"v(\d{1,3})", version)
    if match is None:
        return "unknown"
    number = int(match.group(1))
    if number > GOOGLE_ADS_NEWEST:
        return "unknown"
    if number < min(GOOGLE_ADS_SUNSET) or GOOGLE_ADS_SUNSET.get(number, dt.date.max) <= (today or _today()):
        return "sunset"
    return "ok"


def meta_marketing(version: str, today: dt.date | None = None) -> str:
    """'ok', 'expired' (error 2635) or 'unknown' for a Marketing API /{version}/ path segment."""
    if version in META_EXPIRY and META_EXPIRY[version] <= (today or _today()):
        return "expired"
    if version in META_SERVED:
        return "ok"
    match = re.fullmatch(r"v(\d{1,3})\.\d", version)
    if match and int(match.group(1)) < 22:
        return "expired"
    return "unknown"
