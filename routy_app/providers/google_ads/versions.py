"""The Google Ads API's versions and their sunsets (the schedule Google publishes; see docs/providers/google_ads.md).

Re-check when Google announces a version: the sunset reminders on the Google Ads developer blog give exact
dates, the yearly release schedule post gives projected months.
"""

from __future__ import annotations

import datetime as dt

from routy_app.providers.versions import ApiVersion, VersionTable

GOOGLE_ADS_API = VersionTable(
    provider="google_ads",
    api="Google Ads API",
    setting="GOOGLE_ADS_API_VERSION",
    schedule_url="https://developers.google.com/google-ads/api/docs/sunset-dates",
    versions=(
        ApiVersion("v19", dt.date(2025, 2, 26), dt.date(2026, 2, 11)),
        ApiVersion("v20", dt.date(2025, 6, 4), dt.date(2026, 6, 10)),
        ApiVersion("v21", None, dt.date(2026, 8, 5)),
        ApiVersion("v22", None, dt.date(2026, 10, 7)),
        ApiVersion("v23", None, dt.date(2027, 2, 1), projected=True),
        ApiVersion("v24", dt.date(2026, 4, 22), dt.date(2027, 5, 1), projected=True),
        ApiVersion("v25", dt.date(2026, 7, 22), dt.date(2027, 8, 1), projected=True),
        ApiVersion("v26", dt.date(2026, 10, 14), dt.date(2027, 11, 1), projected=True),
    ),
)
# The Data Manager API's version is fixed in Routy; no sunset announced (its release notes).
FIXED_VERSIONS = (("Data Manager API", "v1"),)
