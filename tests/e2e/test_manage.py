"""Journeys 3 and 4: Settings → Connection (test, pause/resume, disconnect) and Reconnection Required."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import card, connect_oauth, expect_status, new_source, open_source, pick_account, sandbox


def _connected_google(app_server, page: Page, name: str) -> None:
    source = new_source(app_server, name)
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    pick_account(page, "Routy Shop US")
    expect_status(page, "Google Ads", "Active")


def _open_settings(page: Page, provider: str = "Google Ads"):
    card(page, provider).get_by_role("link", name=f"Settings {provider}").click()
    expect(page).to_have_url(re.compile(r"/sources/\d+/integrations/\d+/connection$"))
    dialog = page.get_by_role("region", name=f"{provider} settings")
    expect(dialog).to_be_visible()
    return dialog


def test_connection_tab_test_pause_resume(app_server, page: Page):
    _connected_google(app_server, page, "Manage")
    dialog = _open_settings(page)
    expect(dialog).to_contain_text("Routy Shop US (1234567890)")
    expect(dialog).to_contain_text("USD · America/New_York")
    dialog.get_by_role("button", name="Test Connection").click()
    expect(dialog.locator("#test-result")).to_contain_text(re.compile(r"answered OK \(\d+ ms\)"))

    sandbox(app_server, "POST", "/faults", operation="google_ads.search_stream", condition="wrong_login_customer")
    dialog.get_by_role("button", name="Test Connection").click()
    expect(dialog.locator("#test-result")).to_contain_text("USER_PERMISSION_DENIED")

    dialog.get_by_role("button", name="Pause").click()
    expect(dialog.locator(".status-badge")).to_have_text("Paused")
    page.locator("#back-to-source").click()
    expect_status(page, "Google Ads", "Paused")
    _open_settings(page).get_by_role("button", name="Resume").click()
    expect(page.get_by_role("region").locator(".status-badge")).to_have_text("Active")


def test_disconnect_confirms_what_is_removed_then_card_is_not_connected(app_server, page: Page):
    _connected_google(app_server, page, "Disconnect")
    _open_settings(page).get_by_role("button", name="Disconnect").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("permanently deletes this integration")
    expect(confirm).to_contain_text("revokes Routy's access token")
    confirm.get_by_role("button", name="Disconnect and delete").click()
    expect(page).to_have_url(re.compile(r"/sources/\d+$"))  # back on the traffic source
    expect_status(page, "Google Ads", "Not Connected")
    page.reload()
    expect_status(page, "Google Ads", "Not Connected")


def test_revoked_token_means_reconnection_required_and_reconnect_restores_it(app_server, page: Page, context):
    _connected_google(app_server, page, "Reconnect")
    sandbox(app_server, "POST", "/tokens/revoke", all=True, provider="google")
    dialog = _open_settings(page)
    dialog.get_by_role("button", name="Test Connection").click()
    expect(dialog.locator("#test-result")).to_contain_text("expired or revoked")
    expect(dialog.get_by_role("alert")).to_contain_text("Reconnection Required")
    # Health figures agree with the status: no live token, no counting of failures that cannot happen.
    expect(dialog).to_contain_text("no longer valid: reconnect")
    expect(dialog).to_contain_text("syncing stopped until you reconnect")
    page.locator("#back-to-source").click()
    expect_status(page, "Google Ads", "Error — Reconnection Required")
    expect(card(page, "Google Ads").get_by_role("alert")).to_contain_text("Reconnect to resume")

    other_tab = context.new_page()
    other_tab.goto(page.url)
    expect_status(other_tab, "Google Ads", "Error — Reconnection Required")

    connect_oauth(page, "Google Ads")
    expect_status(page, "Google Ads", "Active")
    expect(card(page, "Google Ads")).to_contain_text("Routy Shop US (1234567890)")
    other_tab.reload()
    expect_status(other_tab, "Google Ads", "Active")
    dialog = _open_settings(page)
    dialog.get_by_role("button", name="Test Connection").click()
    expect(dialog.locator("#test-result")).to_contain_text("answered OK")
