"""A run's error summarised once, with the provider's words kept for Details."""

from __future__ import annotations

import datetime as dt

from routy_app.services.run_errors import summarise

LEVELS = {"campaign": "Campaigns", "ad_group": "Ad groups", "ad": "Ads", "keyword": "Keywords"}
QUOTA = (
    "Google Ads rate limit reached: Too many requests. Retry in 86400 seconds. [RESOURCE_EXHAUSTED]. "
    "It asked to wait 23917 s; the next scheduled sync will try again."
)
AT = dt.datetime(2026, 12, 2, 1, 22, tzinfo=dt.UTC)


def test_the_same_error_on_every_level_is_one_line_with_the_clock_time_of_the_next_attempt():
    error = "; ".join(f"{level}: {QUOTA}" for level in LEVELS)
    out = summarise(error, LEVELS, at=AT, now=AT)
    assert out.summary == "Google Ads rate limit reached on 4 levels; next attempt after 08:00 UTC"
    assert out.details == [
        "Campaigns, Ad groups, Ads, Keywords: Google Ads rate limit reached: Too many requests. "
        "Retry in 86400 seconds. [RESOURCE_EXHAUSTED]."
    ]
    assert "23917" not in out.summary + " ".join(out.details)


def test_different_level_errors_stay_apart_and_are_counted():
    error = f"campaign: {QUOTA}; keyword: Google Ads answered: Internal error encountered."
    out = summarise(error, LEVELS, at=AT, now=AT + dt.timedelta(days=1))
    assert (
        out.summary
        == "Google Ads rate limit reached (campaigns), and 1 other error; next attempt after 2026-12-02 08:00 UTC"
    )
    assert out.details[1] == "Keywords: Google Ads answered: Internal error encountered."


def test_an_error_that_is_not_per_level_is_kept_whole():
    out = summarise("Google Ads refused the authorisation: token revoked", LEVELS, at=AT)
    assert out.summary == "Google Ads refused the authorisation"
    assert out.details == ["Google Ads refused the authorisation: token revoked"]
    assert summarise("", LEVELS).summary == ""
