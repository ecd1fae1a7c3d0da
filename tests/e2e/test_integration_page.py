"""An integration's own page: a URL per tab, breadcrumbs back to the source, reload / back / forward and
the sign-in redirect landing on the same tab, Metrics at the page's full width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.helpers import card, connect_oauth, expect_status, new_source, open_source, pick_account

TAB_URL = r"/sources/{source}/integrations/\d+/{tab}$"


def _tab(page: Page, name: str):
    return page.get_by_role("region", name="Google Ads settings").get_by_role("tab", name=name, exact=True)


def test_each_tab_has_a_url_that_reload_back_forward_and_sign_in_come_back_to(app_server, page: Page, browser):
    page.set_viewport_size({"width": 1440, "height": 900})
    source = new_source(app_server, "Integration page")
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    pick_account(page, "Routy Shop US")
    expect_status(page, "Google Ads", "Active")

    card(page, "Google Ads").get_by_role("link", name="Settings Google Ads").click()
    expect(page).to_have_url(re.compile(TAB_URL.format(source=source, tab="connection")))
    settings = page.get_by_role("region", name="Google Ads settings")
    expect(settings.get_by_role("heading", name="Google Ads settings", level=1)).to_be_visible()
    expect(settings).to_contain_text("Routy Shop US (1234567890)")
    crumbs = page.get_by_role("navigation", name="Breadcrumbs")
    expect(crumbs.get_by_role("link", name="Integration page")).to_have_attribute(
        "href", re.compile(rf"^/sources/{source}\?from=\d+$")
    )

    _tab(page, "Sync History").click()
    expect(page).to_have_url(re.compile(TAB_URL.format(source=source, tab="history")))
    expect(settings.locator(".history-row").first).to_be_visible(timeout=60_000)
    page.reload()
    expect(_tab(page, "Sync History")).to_have_attribute("aria-selected", "true")
    expect(settings.locator(".history-row").first).to_be_visible()

    _tab(page, "Metrics").click()
    expect(page).to_have_url(re.compile(TAB_URL.format(source=source, tab="metrics")))
    expect(settings.locator("#metrics-chart svg").first).to_be_visible(timeout=30_000)
    # Metrics has the page's width, not a dialog's: the chart spans most of a 1440 px screen.
    chart = settings.locator("#metrics-chart").bounding_box()
    assert chart is not None and chart["width"] > 1000, chart
    metrics_url = page.url

    page.go_back()
    expect(page).to_have_url(re.compile(TAB_URL.format(source=source, tab="history")))
    expect(_tab(page, "Sync History")).to_have_attribute("aria-selected", "true")
    page.go_forward()
    expect(_tab(page, "Metrics")).to_have_attribute("aria-selected", "true")

    crumbs.get_by_role("link", name="Integration page").click()
    expect(page).to_have_url(re.compile(rf"/sources/{source}$"))  # the one-time ?from= is dropped
    expect_status(page, "Google Ads", "Active")
    # The focus returns to the control that opened the integration's page.
    expect(card(page, "Google Ads").get_by_role("link", name="Settings Google Ads")).to_be_focused()

    # Signed out, the tab's URL goes to sign in, and signing in comes back to that tab.
    fresh = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        other = fresh.new_page()
        other.goto(metrics_url)
        expect(other).to_have_url(re.compile(r"/login\?next="))
        other.get_by_label("Email").fill(ADMIN_EMAIL)
        other.get_by_label("Password").fill(ADMIN_PASSWORD)
        other.get_by_role("button", name="Sign in").click()
        expect(other).to_have_url(metrics_url)
        expect(
            other.get_by_role("region", name="Google Ads settings").get_by_role("tab", name="Metrics", exact=True)
        ).to_have_attribute("aria-selected", "true")
    finally:
        fresh.close()


@pytest.mark.parametrize("path", ["/sources/1/integrations/999999/connection", "/sources/999/integrations/1/sync"])
def test_an_unknown_integration_says_so(app_server, page: Page, path: str):
    page.goto(app_server.url + path)
    expect(page.get_by_role("alert").filter(has_text="This integration does not exist")).to_be_visible()
