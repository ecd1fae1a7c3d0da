"""Settings → Connection: the API version table with its sunset warning, and Check set-up (admins only)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import VIEWER_EMAIL, VIEWER_PASSWORD, sign_in_cookie
from tests.e2e.helpers import card, connect_oauth, expect_status, new_source, open_source, pick_account, sandbox

SCREENSHOTS = "screenshots"


def _google_settings(app_server, page: Page, name: str):
    source = new_source(app_server, name)
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    pick_account(page, "Routy Shop US")
    expect_status(page, "Google Ads", "Active")
    card(page, "Google Ads").get_by_role("link", name="Settings Google Ads").click()
    dialog = page.get_by_role("region", name="Google Ads settings")
    expect(dialog).to_be_visible()
    return dialog, source


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_version_table_and_its_sunset_warning(app_server, page: Page, width: int, height: int):
    page.set_viewport_size({"width": width, "height": height})
    dialog, _ = _google_settings(app_server, page, f"Versions {width}")
    notice = dialog.locator("#version-notice")
    expect(notice).to_contain_text(
        re.compile(
            r"Google Ads API v26 is projected to sunset on about November 2027 "
            r"\(in \d+ days\)"
        )
    )
    rows = dialog.locator("#api-versions .version-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Google Ads API")
    expect(rows.nth(0)).to_contain_text("GOOGLE_ADS_API_VERSION")
    expect(rows.nth(0).locator(".version-status")).to_have_text("Sunsets soon")
    expect(rows.nth(1)).to_contain_text("Data Manager API")
    expect(rows.nth(1).locator(".version-status")).to_have_text("Supported")
    dialog.locator("#api-versions").scroll_into_view_if_needed()
    (app_server.data_dir / SCREENSHOTS).mkdir(exist_ok=True)
    page.screenshot(path=str(app_server.data_dir / SCREENSHOTS / f"versions-{width}.png"))


def test_check_set_up_lists_every_check_and_names_the_fault(app_server, page: Page):
    dialog, _ = _google_settings(app_server, page, "Check set-up")
    dialog.get_by_role("button", name="Check set-up").click()
    summary = dialog.locator("#setup-summary")
    expect(summary).to_contain_text(re.compile(r"Every check passed|0 check\(s\) failed"))
    checks = dialog.locator(".setup-check")
    expect(checks).to_have_count(6)
    expect(checks.filter(has_text="Data Manager API").locator(".check-status")).to_have_text("OK")

    sandbox(app_server, "POST", "/faults", operation="datamanager.status", condition="service_disabled")
    dialog.get_by_role("button", name="Check set-up").click()
    expect(summary).to_contain_text("1 check(s) failed")
    failed = checks.filter(has_text="Data Manager API")
    expect(failed.locator(".check-status")).to_have_text("Failed")
    expect(failed).to_contain_text("Data Manager API has not been used in project")
    expect(failed).to_contain_text("Enable the Data Manager API in the Google Cloud console")
    (app_server.data_dir / SCREENSHOTS).mkdir(exist_ok=True)
    page.screenshot(path=str(app_server.data_dir / SCREENSHOTS / "check-set-up.png"), full_page=True)


def test_viewers_do_not_get_the_check_set_up_button(app_server, page: Page, context):
    dialog, source = _google_settings(app_server, page, "Check set-up viewer")
    expect(dialog.get_by_role("button", name="Check set-up")).to_be_visible()
    context.clear_cookies()
    context.add_cookies([sign_in_cookie(app_server, VIEWER_EMAIL, VIEWER_PASSWORD)])
    open_source(page, app_server, source)
    card(page, "Google Ads").get_by_role("link", name="Settings Google Ads").click()
    viewer_dialog = page.get_by_role("region", name="Google Ads settings")
    expect(viewer_dialog.locator("#api-versions")).to_be_visible()
    expect(viewer_dialog.get_by_role("button", name="Check set-up")).to_have_count(0)


def test_doctor_command_checks_the_running_apps_sandbox(app_server, page: Page):
    """`python -m routy_app doctor` from a shell, in sandbox mode: it talks to the emulator the app serves."""
    import subprocess
    import sys

    from tests.e2e.conftest import ROOT

    _, source = _google_settings(app_server, page, "Doctor CLI")
    run = subprocess.run(
        [sys.executable, "-m", "routy_app", "doctor", "--source", str(source)],
        cwd=ROOT,
        env=app_server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Google Ads · Routy Shop US (1234567890)" in run.stdout
    assert "[ok  ] Data Manager API" in run.stdout and "[WARN] API version" in run.stdout
    sandbox(app_server, "POST", "/faults", operation="google_ads.list_customers", condition="service_disabled")
    run = subprocess.run(
        [sys.executable, "-m", "routy_app", "doctor", "--source", str(source)],
        cwd=ROOT,
        env=app_server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "[FAIL] Google Ads API" in run.stdout and "SERVICE_DISABLED" in run.stdout
