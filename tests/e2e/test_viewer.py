"""A viewer sees a read-only UI: every control that changes something is disabled with an "Admins only"
hint (the server refuses them too: tests/unit/test_state_hardening.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import VIEWER_EMAIL, VIEWER_PASSWORD, sign_in_cookie
from tests.e2e.helpers import card, connect_oauth, expect_status, new_source, open_source, pick_account


@pytest.mark.signed_out
def test_viewer_sees_change_controls_disabled_with_a_hint(app_server, page: Page, context, admin_cookie):
    source = new_source(app_server, "Read only")
    context.add_cookies([admin_cookie])
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    pick_account(page, "Routy Shop US")
    expect_status(page, "Google Ads", "Active")

    context.clear_cookies()
    context.add_cookies([sign_in_cookie(app_server, VIEWER_EMAIL, VIEWER_PASSWORD)])
    open_source(page, app_server, source)
    expect(page.locator("#signed-in-user")).to_have_text(VIEWER_EMAIL)
    meta = card(page, "Meta Ads (Facebook Ads)")
    expect(meta.get_by_role("button", name="Connect Meta Ads (Facebook Ads)")).to_be_disabled()
    expect(meta.locator(".admins-only")).to_have_text("Admins only")
    # Looking is allowed: Settings opens.
    google = card(page, "Google Ads")
    google.get_by_role("link", name="Settings Google Ads").click()
    dialog = page.get_by_role("region", name="Google Ads settings")
    expect(dialog).to_contain_text("Routy Shop US (1234567890)")
    for name in ("Test Connection", "Pause", "Disconnect"):
        expect(dialog.get_by_role("button", name=name, exact=True)).to_be_disabled()
    expect(dialog.get_by_role("button", name=re.compile("Reconnect"))).to_be_disabled()
    expect(dialog.locator(".admins-only").first).to_be_visible()
    dialog.get_by_role("tab", name="Sync", exact=True).click()
    expect(dialog.get_by_role("button", name="Sync Now")).to_be_disabled()
    expect(dialog.get_by_role("button", name="Save sync settings")).to_be_disabled()
    dialog.get_by_role("tab", name="Push History").click()
    expect(dialog.get_by_role("button", name="Push now")).to_be_disabled()
    dialog.get_by_role("tab", name="Conversion Mappings").click()
    expect(dialog.get_by_role("button", name="Add mapping")).to_be_disabled()
