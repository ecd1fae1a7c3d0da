"""Push journey: map an event type, record a test conversion, see it sent in Push History and received."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import card, connect_oauth, expect_status, new_source, open_source, pick_account, sandbox


def test_mapped_test_conversion_is_pushed_and_received(app_server, page: Page):
    source = new_source(app_server, "Push")
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    pick_account(page, "Routy Shop US")
    expect_status(page, "Google Ads", "Active")

    card(page, "Google Ads").get_by_role("link", name=re.compile("^Settings")).click()
    dialog = page.get_by_role("region", name="Google Ads settings")
    dialog.get_by_role("tab", name="Conversion Mappings").click()
    dialog.get_by_label("Routy event type").fill("lead")
    dialog.get_by_role("combobox", name="Provider action").click()
    page.get_by_role("option", name="Qualified lead").click()
    dialog.get_by_role("button", name="Add mapping").click()
    expect(dialog.locator(".mapping-row")).to_contain_text("Qualified lead")
    page.locator("#back-to-source").click()

    page.get_by_role("tab", name="Conversions").click()
    page.get_by_label("Event id (optional)").fill(f"e2e-lead-{source}")
    page.get_by_label("gclid").fill("Cj0KCQiA-e2e-test-click")
    page.get_by_role("button", name="Record test conversion").click()
    row = page.locator(".conversion-row").filter(has_text=f"e2e-lead-{source}")
    expect(row).to_contain_text("1 pending")

    page.get_by_role("tab", name="Integrations").click()
    card(page, "Google Ads").get_by_role("link", name=re.compile("^Settings")).click()
    dialog.get_by_role("tab", name="Push History").click()
    dialog.get_by_role("button", name="Push now").click()
    pushed = dialog.locator(".push-row").filter(has_text=f"e2e-lead-{source}")
    expect(pushed.locator(".push-status")).to_have_text("sent")

    received = sandbox(app_server, "GET", "/received?provider=google_ads")["received"]["google_ads"]
    keys = [event.get("transactionId") for event in received]
    assert f"{source}:e2e-lead-{source}" in keys

    dialog.get_by_role("tab", name="Sync History").click()
    expect(dialog.locator(".history-row").filter(has_text="Push · Manual").first).to_contain_text("success")

    dialog.get_by_role("tab", name="Conversion Mappings").click()
    dialog.locator(".mapping-row").get_by_role("button", name="Test push").click()
    dialog.get_by_role("button", name="Send test").click()
    answer = dialog.locator("#test-push-answer")
    expect(answer).to_contain_text("Result: validated only — nothing was ingested")
    expect(dialog.get_by_text("Exact payload sent")).to_be_visible()
    dialog.get_by_text("Exact payload sent").click()
    expect(dialog.get_by_text('"validateOnly": true')).to_be_visible()
    received_after = sandbox(app_server, "GET", "/received?provider=google_ads")["received"]["google_ads"]
    assert len(received_after) == len(received)  # a test push is validated, not recorded
