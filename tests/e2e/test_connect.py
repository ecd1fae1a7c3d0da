"""Journeys 1 and 2 of the product page: connect by OAuth (Google Ads, Meta) and GA4's form."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import card, connect_oauth, expect_status, new_source, open_source, pick_account, sandbox


def test_google_connect_allow_pick_manager_client_becomes_active(app_server, page: Page):
    source = new_source(app_server, "Google connect")
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    dialog = page.get_by_role("dialog", name="Select the ad account to link")
    expect(dialog.get_by_text("Routy Agency (manager)")).to_be_visible()
    expect(dialog.get_by_text("5550000001 · EUR · Europe/Berlin")).to_be_visible()
    pick_account(page, "Shop DE")
    expect_status(page, "Google Ads", "Active")
    expect(card(page, "Google Ads").get_by_role("link", name="Settings Google Ads")).to_be_visible()
    expect(card(page, "Google Ads")).to_contain_text("Shop DE (5550000001)")


def test_closing_the_picker_leaves_pending_and_reopening_resumes(app_server, page: Page):
    source = new_source(app_server, "Pending picker")
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    dialog = page.get_by_role("dialog", name="Select the ad account to link")
    expect(dialog.get_by_role("radio").first).to_be_visible()
    dialog.get_by_role("button", name="Later").click()
    expect_status(page, "Google Ads", "Pending account selection")
    page.reload()
    expect_status(page, "Google Ads", "Pending account selection")
    card(page, "Google Ads").get_by_role("button", name="Select account Google Ads").click()
    pick_account(page, "Routy Shop UK")
    expect_status(page, "Google Ads", "Active")


def test_deny_on_consent_page_says_so_and_creates_nothing(app_server, page: Page):
    source = new_source(app_server, "Deny")
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads", decision="Deny")
    expect(page.get_by_role("alert").filter(has_text="You declined access")).to_be_visible()
    expect_status(page, "Google Ads", "Not Connected")


def test_reused_state_is_refused_with_a_clear_message(app_server, page: Page):
    source = new_source(app_server, "Reused state")
    open_source(page, app_server, source)
    card(page, "Google Ads").get_by_role("button", name="Connect Google Ads").click()
    page.wait_for_url(re.compile(r"/sandbox/google/"))
    callback_urls: list[str] = []
    page.on("request", lambda r: callback_urls.append(r.url) if "/oauth/google_ads/callback" in r.url else None)
    page.get_by_role("button", name="Allow", exact=True).click()
    page.wait_for_url(re.compile(r"/sources/\d+\?"))
    page.get_by_role("dialog").get_by_role("button", name="Later").click()
    page.goto(callback_urls[0])
    expect(page.get_by_role("alert").filter(has_text="already used")).to_be_visible()
    expect_status(page, "Google Ads", "Pending account selection")


def test_meta_connect_exchanges_for_a_long_lived_token(app_server, page: Page):
    source = new_source(app_server, "Meta connect")
    open_source(page, app_server, source)
    connect_oauth(page, "Meta Ads (Facebook Ads)")
    dialog = page.get_by_role("dialog", name="Select the ad account to link")
    first = dialog.get_by_role("radio").first
    expect(first).to_be_visible()
    first.click()
    dialog.get_by_role("button", name="Link account").click()
    expect_status(page, "Meta Ads (Facebook Ads)", "Active")
    card(page, "Meta Ads (Facebook Ads)").get_by_role("link", name=re.compile("^Settings")).click()
    settings = page.get_by_role("region", name=re.compile("Meta Ads .* settings"))
    expect(settings).to_contain_text("Access token")
    expires = settings.get_by_text(re.compile(r"expires \d{4}-\d\d-\d\d"))
    expect(expires).to_be_visible()


def test_ga4_form_validates_inline_shows_provider_errors_then_saves(app_server, page: Page):
    source = new_source(app_server, "GA4 setup")
    open_source(page, app_server, source)
    card(page, "Google Analytics 4").get_by_role("button", name="Connect Google Analytics 4").click()
    dialog = page.get_by_role("dialog", name="Connect Google Analytics 4")
    dialog.get_by_role("button", name="Check and save").click()  # empty: every required field named at once
    expect(dialog.locator("#measurement_id-error")).to_have_text("Measurement ID is required.")
    expect(dialog.locator("#api_secret-error")).to_have_text("API secret is required.")
    dialog.get_by_label("Measurement ID").fill("UA-12345")
    dialog.get_by_label("API secret").fill("sandbox-mp-secret")
    dialog.get_by_role("button", name="Check and save").click()
    expect(dialog.locator("#measurement_id-error")).to_contain_text("G-")
    expect_status(page, "Google Analytics 4", "Not Connected")

    sandbox(
        app_server,
        "POST",
        "/faults",
        operation="ga4.debug_collect",
        condition="validation_messages",
        params={
            "messages": [
                {
                    "fieldPath": "measurement_id",
                    # a provider's words may hold a long unbroken path: it wraps inside the callout
                    "description": "Measurement ID is not a web stream: properties/1/dataStreams/" + "X" * 120,
                    "validationCode": "VALUE_INVALID",
                }
            ]
        },
    )
    dialog.get_by_label("Measurement ID").fill("G-ROUTY12345")
    dialog.get_by_role("button", name="Check and save").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Measurement ID is not a web stream")
    inside = (
        "e => e.scrollWidth <= e.clientWidth"
        " && e.getBoundingClientRect().right <= e.parentElement.getBoundingClientRect().right"
    )
    assert dialog.get_by_role("alert").evaluate(inside)
    expect_status(page, "Google Analytics 4", "Not Connected")

    dialog.get_by_role("button", name="Check and save").click()
    expect(dialog).to_be_hidden()
    expect_status(page, "Google Analytics 4", "Active")
    expect(card(page, "Google Analytics 4")).to_contain_text("G-ROUTY12345")


def test_the_picker_shows_account_status_and_disabled_or_unsettled_accounts_cannot_be_picked(app_server, page: Page):
    source = new_source(app_server, "Picker status")
    open_source(page, app_server, source)
    connect_oauth(page, "Meta Ads (Facebook Ads)")
    dialog = page.get_by_role("dialog", name="Select the ad account to link")
    expect(dialog.get_by_role("radio").first).to_be_visible()
    for name, status, reason in (
        ("Sandbox Old Shop (disabled)", "Disabled", "cannot run ads"),
        ("Sandbox Brazil (unsettled)", "Unsettled", "Unpaid balance"),
    ):
        row = dialog.locator(".blocked-account").filter(has_text=name)
        expect(row.locator(".account-status")).to_have_text(status)
        expect(row.locator(".account-reason")).to_contain_text(reason)
        expect(dialog.get_by_role("radio", name=name, exact=True)).to_have_count(0)
    dialog.get_by_role("button", name="Later").click()
