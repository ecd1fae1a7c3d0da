"""API versions as data: the defaults are alive, and a configured version is judged by its sunset date.

Published dates restated here on purpose (not imported from the code under test), with where they
come from, so a wrong table in routy_app/providers fails this test instead of agreeing with it.
"""

from __future__ import annotations

import datetime as dt

from routy_app.config import Settings

TODAY = dt.date(2026, 12, 2)

# Google Ads developer blog, sunset reminders: /ads/blog/posts/2025/12/google-ads-api-v19-sunset-reminder,
# /2026/04/...-v20-..., /2026/06/...-v21-..., /2026/09/google-ads-api-v22-sunset-reminder.
GOOGLE_ADS_SUNSET = {
    "v19": dt.date(2026, 2, 11),
    "v20": dt.date(2026, 6, 10),
    "v21": dt.date(2026, 8, 5),
    "v22": dt.date(2026, 10, 7),
}
# Meta, Marketing API version history (developers.facebook.com/documentation/ads-commerce/marketing-api/
# marketing-api-changelog/versions): v25.0 expires 2027-02-23, v27.0 (2026-11-04) is the newest.
META_NEWEST = "v27.0"


def test_default_google_ads_version_has_not_sunset() -> None:
    version = Settings().google_ads_api_version
    assert not (version in GOOGLE_ADS_SUNSET and GOOGLE_ADS_SUNSET[version] <= TODAY), (
        f"GOOGLE_ADS_API_VERSION defaults to {version}, which Google switched off on {GOOGLE_ADS_SUNSET.get(version)}"
    )
    assert version == "v26"  # the newest major, released 2026-10-14


def test_default_meta_version_is_the_newest() -> None:
    assert Settings().meta_api_version == META_NEWEST


# ---------------------------------------------------------------- the table and its judgement

from routy_app.providers import versions  # noqa: E402 - after the fact-restating tests above
from routy_app.providers.google_ads.versions import GOOGLE_ADS_API  # noqa: E402
from routy_app.providers.meta_ads.versions import MARKETING_API  # noqa: E402


def test_tables_hold_the_published_dates() -> None:
    for name, day in GOOGLE_ADS_SUNSET.items():
        known = GOOGLE_ADS_API.find(name)
        assert known is not None and known.sunset == day and not known.projected
    assert MARKETING_API.find("v25.0").sunset == dt.date(2027, 2, 23)
    assert MARKETING_API.find("v24.0").sunset == dt.date(2026, 11, 10)
    assert MARKETING_API.newest.name == META_NEWEST
    assert GOOGLE_ADS_API.newest.released == dt.date(2026, 10, 14)


def test_sunset_is_an_error_naming_the_setting_and_the_newest() -> None:
    status = versions.assess(GOOGLE_ADS_API, "v22", TODAY)
    assert status.level == "error"
    assert "2026-10-07" in status.message and "GOOGLE_ADS_API_VERSION=v26" in status.message
    assert versions.assess(GOOGLE_ADS_API, "v14", TODAY).level == "error"  # older than the table


def test_a_sunset_within_the_window_is_a_warning_naming_the_date() -> None:
    status = versions.assess(MARKETING_API, "v25.0", dt.date(2027, 1, 1))
    assert status.level == "warning" and "2027-02-23" in status.message and "in 53 days" in status.message
    assert versions.assess(MARKETING_API, "v25.0", dt.date(2026, 12, 24)).level == "ok"  # 61 days
    assert versions.assess(MARKETING_API, "v25.0", dt.date(2026, 12, 25)).level == "warning"  # 60
    assert versions.assess(MARKETING_API, "v25.0", TODAY, warning_days=90).level == "warning"
    assert versions.assess(MARKETING_API, "v25.0", dt.date(2027, 2, 23)).level == "error"


def test_projected_sunsets_warn_from_the_first_of_the_month_and_never_turn_into_errors() -> None:
    early = versions.assess(GOOGLE_ADS_API, "v23", dt.date(2026, 12, 3))
    assert early.level == "warning" and "about February 2027" in early.message
    assert versions.assess(GOOGLE_ADS_API, "v23", dt.date(2027, 2, 20)).level == "warning"


def test_newest_and_unknown_versions() -> None:
    assert versions.assess(GOOGLE_ADS_API, "v26", TODAY).level == "ok"
    assert versions.assess(MARKETING_API, "v27.0", TODAY).sunset == "no sunset announced"
    unknown = versions.assess(GOOGLE_ADS_API, "v27", TODAY)
    assert unknown.level == "warning" and "not in Routy's version table" in unknown.message


def test_settings_judge_the_configured_versions() -> None:
    statuses = Settings(GOOGLE_ADS_API_VERSION="v22", META_API_VERSION="v25.0").api_versions(TODAY)
    assert [(s.setting, s.level) for s in statuses] == [("GOOGLE_ADS_API_VERSION", "error"), ("META_API_VERSION", "ok")]
    assert versions.worst(statuses) == "error"
