"""Sign-in journeys and server-side role enforcement in the running app."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, VIEWER_EMAIL, VIEWER_PASSWORD, sign_in_cookie
from tests.e2e.helpers import CARDS, card, new_source, open_source


@pytest.mark.signed_out
@pytest.mark.parametrize("path", ["/", "/sources/1", "/users"])
def test_every_page_redirects_to_sign_in_when_signed_out(app_server, page: Page, path: str):
    page.goto(app_server.url + path)
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Sign in to Routy")).to_be_visible()
    expect(page.locator(".provider-card")).to_have_count(0)


@pytest.mark.signed_out
def test_sign_in_with_wrong_password_then_right_one_then_sign_out(app_server, page: Page):
    page.goto(app_server.url + "/")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("wrong-password-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".provider-card")).to_have_count(CARDS)
    expect(page.locator("#signed-in-user")).to_have_text(ADMIN_EMAIL)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(app_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))


@pytest.mark.signed_out
def test_setup_page_is_gone_once_an_admin_exists(app_server, page: Page):
    page.goto(app_server.url + "/setup")
    expect(page).to_have_url(re.compile(r"/login"))


@pytest.mark.signed_out
def test_viewer_sees_cards_but_connect_is_for_admins_only(app_server, page: Page, context):
    """Connect is disabled with a hint (issue 15); the server refuses it too (test_state_hardening.py)."""
    context.add_cookies([sign_in_cookie(app_server, VIEWER_EMAIL, VIEWER_PASSWORD)])
    source = new_source(app_server, "Viewer")
    open_source(page, app_server, source)
    expect(page.locator("#signed-in-user")).to_have_text(VIEWER_EMAIL)
    connect = card(page, "Google Ads").get_by_role("button", name="Connect Google Ads")
    expect(connect).to_be_disabled()
    expect(card(page, "Google Ads").locator(".admins-only")).to_have_text("Admins only")
    connect.click(force=True)  # a disabled button does nothing
    expect(page).to_have_url(re.compile(rf"/sources/{source}$"))
    page.goto(app_server.url + "/users")
    expect(page).not_to_have_url(re.compile(r"/users"))


def test_admin_manages_users(app_server, page: Page):
    page.goto(app_server.url + "/users")
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name=VIEWER_EMAIL)).to_be_visible()
    page.get_by_label("Email").fill("new.viewer@routy.test")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("alert")).to_contain_text("12")
    page.get_by_label("Email").fill("new.viewer@routy.test")
    page.get_by_label("Password").fill("Another-strong-pass-42")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("cell", name="new.viewer@routy.test")).to_be_visible()
