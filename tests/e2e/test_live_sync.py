"""A run the user did not start (the scheduled first pull after linking) shows live on its card:
Syncing… with its rows so far while it runs, then when it last synced, without a reload."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import card, connect_oauth, new_source, open_source, pick_account, sandbox


def test_a_scheduled_run_shows_as_syncing_on_the_card_then_its_outcome(app_server, page: Page):
    source = new_source(app_server, "Live sync")
    open_source(page, app_server, source)
    # a first pull of many seconds (30 days of 1,000 keywords per ad group): the cards refresh every 3 s
    sandbox(app_server, "POST", "/config", days=30, keywords_per_ad_group=1000)
    try:
        connect_oauth(page, "Google Ads")
        pick_account(page, "Routy Shop US")  # linking starts the first (scheduled) pull on its own
        line = card(page, "Google Ads").locator(".status-line")
        expect(line).to_contain_text("Syncing…", timeout=30_000)
        # the first pull has no previous run to compare with: rows read so far, growing as pages land
        expect(line).to_have_text(re.compile(r"^Syncing… \d[\d,]* rows?$"), timeout=30_000)
        expect(line).to_have_text(re.compile(r"^Last synced (just now|\d+ min ago)$"), timeout=120_000)
    finally:
        sandbox(app_server, "POST", "/config", days=90, keywords_per_ad_group=3)
