"""The Marketing API's versions and when each expires (Meta's "Marketing API version history").

Meta expires a version about a year after the next one ships; re-check the table when Meta announces one.
"""

from __future__ import annotations

import datetime as dt

from routy_app.providers.versions import ApiVersion, VersionTable

MARKETING_API = VersionTable(
    provider="meta_ads",
    api="Meta Marketing API",
    setting="META_API_VERSION",
    schedule_url="https://developers.facebook.com/documentation/ads-commerce/marketing-api/"
    "marketing-api-changelog/versions",
    versions=(
        ApiVersion("v22.0", dt.date(2025, 1, 21), dt.date(2026, 2, 19)),
        ApiVersion("v23.0", dt.date(2025, 5, 29), dt.date(2026, 6, 9)),
        ApiVersion("v24.0", dt.date(2025, 10, 8), dt.date(2026, 11, 10)),
        ApiVersion("v25.0", dt.date(2026, 2, 18), dt.date(2027, 2, 23)),
        ApiVersion("v26.0", dt.date(2026, 7, 29), None),
        ApiVersion("v27.0", dt.date(2026, 11, 4), None),
    ),
)
