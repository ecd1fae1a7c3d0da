"""Admins create and rename traffic sources in the UI; the sidebar lists them and each has its own cards."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import Page, expect

from tests.e2e.helpers import expect_status


def test_admin_creates_then_renames_a_traffic_source(app_server, page: Page):
    name = f"Podcast {secrets.token_hex(3)}"
    page.goto(app_server.url + "/")
    nav = page.get_by_role("navigation", name="Traffic sources")
    nav.get_by_role("button", name="New traffic source").click()
    dialog = page.get_by_role("dialog", name="New traffic source")
    dialog.get_by_role("button", name="Create").click()  # empty: the browser's required check keeps it open
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("Default traffic source")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog.locator("#source-error")).to_contain_text("exists already")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(r"/sources/\d+$"))
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect_status(page, "Google Ads", "Not Connected")  # its own cards

    page.get_by_role("button", name="Rename traffic source").click()
    rename = page.get_by_role("dialog", name="Rename traffic source")
    expect(rename.get_by_label("Name")).to_have_value(name)
    rename.get_by_label("Name").fill(name + " renamed")
    rename.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name=name + " renamed", level=1)).to_be_visible()
    expect(nav.get_by_role("link", name=name + " renamed")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name=name + " renamed", level=1)).to_be_visible()
