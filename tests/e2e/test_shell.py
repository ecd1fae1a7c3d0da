"""The app shell and the Integrations tab as a user first sees them."""

import re

from playwright.sync_api import Page, expect


def test_integrations_tab_shows_four_unconnected_cards(app_server, page: Page):
    page.goto(app_server.url + "/")
    cards = page.locator(".provider-card")
    expect(cards).to_have_count(4)
    for name in ("Google Ads", "Meta Ads (Facebook Ads)", "Google Analytics 4", "Webhook"):
        card = cards.filter(has=page.get_by_role("heading", name=name, exact=True))
        expect(card).to_have_count(1)
        expect(card.locator(".status-badge")).to_have_text("Not Connected")
        expect(card.get_by_role("img")).to_have_attribute("src", re.compile(r"\.svg$"))
    expect(page.get_by_role("tab", name="Integrations")).to_have_attribute("aria-selected", "true")


def test_sources_list_links_to_the_source_page(app_server, page: Page):
    page.goto(app_server.url + "/")
    nav = page.get_by_role("navigation", name="Traffic sources")
    nav.get_by_role("link", name="Default traffic source").click()
    expect(page).to_have_url(re.compile(r"/sources/1$"))
    expect(page.get_by_role("heading", name="Default traffic source", level=1)).to_be_visible()
    page.get_by_role("tab", name="Conversions").click()
    expect(page.get_by_role("tabpanel").get_by_role("heading", name="Recent conversions")).to_be_visible()


def test_unknown_source_says_so(app_server, page: Page):
    page.goto(app_server.url + "/sources/999")
    expect(page.get_by_text("This traffic source does not exist.")).to_be_visible()


def test_healthz_is_served_on_the_same_port(app_server):
    with app_server.api() as client:
        body = client.get("/healthz").json()
    assert body == {
        "status": "ok",
        "db": True,
        "version": body["version"],
        "provider_mode": "sandbox",
        "api_versions": body["api_versions"],
    }
    google, meta = body["api_versions"]
    # The e2e app warns a year ahead (conftest), so the newest Google Ads API version is a warning, not an error.
    assert (google["setting"], google["version"], google["status"]) == ("GOOGLE_ADS_API_VERSION", "v26", "warning")
    assert (meta["setting"], meta["version"], meta["status"]) == ("META_API_VERSION", "v27.0", "ok")
