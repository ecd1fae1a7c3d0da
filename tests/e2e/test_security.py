"""Nothing secret leaks (DB file, server log), provider text is rendered inert, and who-did-what is logged."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from routy_app.services.audit import scan_for_secrets
from tests.e2e.helpers import card, connect_oauth, expect_status, new_source, open_source, pick_account, sandbox

HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">Shop UK'


def test_hostile_account_name_is_shown_as_text_and_runs_nothing(app_server, page: Page):
    sandbox(app_server, "POST", "/google_ads/accounts/2345678901/name", name=HOSTILE)
    try:
        source = new_source(app_server, "Escaping")
        open_source(page, app_server, source)
        connect_oauth(page, "Google Ads")
        dialog = page.get_by_role("dialog", name="Select the ad account to link")
        expect(dialog.get_by_text(HOSTILE, exact=True)).to_be_visible()
        pick_account(page, HOSTILE)
        expect(card(page, "Google Ads")).to_contain_text(HOSTILE)
        assert page.evaluate("window.__xss") is None
    finally:
        sandbox(app_server, "POST", "/google_ads/accounts/2345678901/name", name="Routy Shop UK")


def test_no_issued_token_is_in_the_database_or_the_log(app_server, page: Page):
    source = new_source(app_server, "Secrets")
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    pick_account(page, "Routy Shop US")
    connect_oauth(page, "Meta Ads (Facebook Ads)")
    page.get_by_role("dialog").get_by_role("radio").first.click()
    page.get_by_role("dialog").get_by_role("button", name="Link account").click()
    expect_status(page, "Meta Ads (Facebook Ads)", "Active")
    tokens = sandbox(app_server, "GET", "/tokens")["tokens"]
    assert len(tokens) >= 4
    files = [app_server.data_dir / name for name in ("routy.db", "routy.db-wal", "routy.db-shm")]
    files.append(app_server.log_path)
    assert scan_for_secrets(files, tokens) == []
    assert page.evaluate("document.cookie").find("routy_session") == -1  # HttpOnly: not visible to scripts


def test_connection_tab_shows_who_did_what(app_server, page: Page):
    source = new_source(app_server, "Audit")
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    pick_account(page, "Routy Shop UK")
    card(page, "Google Ads").get_by_role("link", name=re.compile("^Settings")).click()
    dialog = page.get_by_role("region", name="Google Ads settings")
    dialog.get_by_role("button", name="Pause").click()
    activity = dialog.locator("#activity-log")
    expect(activity).to_contain_text("paused")
    expect(activity).to_contain_text("account selected")
    expect(activity).to_contain_text("connected")
    expect(activity).to_contain_text("admin@routy.test")
