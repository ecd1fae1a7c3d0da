"""A phone (390×844): no page is wider than the screen, and the header's Menu reaches every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import card, connect_oauth, expect_status, new_source, open_source, pick_account

PHONE = {"width": 390, "height": 844}
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def expect_no_horizontal_scroll(page: Page, where: str) -> None:
    """The page is no wider than the screen (waits for it: fonts and late data may widen it first)."""
    try:
        page.wait_for_function(FITS, timeout=5_000)
    except Exception:  # noqa: BLE001 - re-raised as an assertion that says the widths
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        raise AssertionError(f"{where}: the page is {widths[0]} px wide on a {widths[1]} px screen") from None


def _menu(page: Page):
    page.get_by_role("button", name="Menu", exact=True).click()
    menu = page.locator("#phone-menu")
    expect(menu).to_be_visible()
    return menu


@pytest.mark.signed_out
def test_sign_in_page_fits_a_phone(app_server, page: Page):
    page.set_viewport_size(PHONE)
    page.goto(app_server.url + "/login")
    expect(page.get_by_role("heading", name="Sign in to Routy")).to_be_visible()
    expect_no_horizontal_scroll(page, "sign-in")


def test_every_page_fits_a_phone_and_the_menu_reaches_each(app_server, page: Page):
    page.set_viewport_size(PHONE)
    source = new_source(app_server, "Phone")
    open_source(page, app_server, source)
    # The sidebar is a menu on a phone.
    expect(page.get_by_role("navigation", name="Traffic sources")).to_be_hidden()
    expect_no_horizontal_scroll(page, "source page")
    page.get_by_role("tab", name="Conversions").click()
    expect(page.get_by_role("tabpanel").get_by_role("heading", name="Recent conversions")).to_be_visible()
    expect_no_horizontal_scroll(page, "source page, Conversions")

    _menu(page).get_by_role("link", name="Notifications").click()
    expect(page).to_have_url(re.compile(r"/notifications$"))
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    expect(page.locator("#phone-menu")).to_be_hidden()
    expect_no_horizontal_scroll(page, "notifications")

    _menu(page).get_by_role("link", name="Users").click()
    expect(page).to_have_url(re.compile(r"/users$"))
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    expect_no_horizontal_scroll(page, "users")

    _menu(page).get_by_role("link", name="Phone", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/sources/{source}$"))
    expect(page.get_by_role("heading", name="Phone", level=1)).to_be_visible()

    # A connected integration's card and its settings.
    connect_oauth(page, "Google Ads")
    pick_account(page, "Routy Shop US")
    expect_status(page, "Google Ads", "Active")
    expect_no_horizontal_scroll(page, "source page with a connected card")
    card(page, "Google Ads").get_by_role("link", name=re.compile(r"^Settings")).click()
    settings = page.get_by_role("region", name="Google Ads settings")
    expect(settings).to_be_visible()
    for tab in ("Connection", "Sync", "Sync History", "Conversion Mappings", "Push History", "Metrics"):
        settings.get_by_role("tab", name=tab, exact=True).click()
        expect(settings.get_by_role("tab", name=tab, exact=True)).to_have_attribute("aria-selected", "true")
        expect_no_horizontal_scroll(page, f"integration page, {tab}")
