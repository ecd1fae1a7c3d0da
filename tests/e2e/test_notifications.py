"""The alerts journey in Chromium: an admin sets an SMTP channel and a signed webhook on the Notifications
page, a Google token is revoked in the sandbox -> one alert on each channel and one incident shown (page
and Connection tab); reconnecting clears it -> one "resolved" on each. The SMTP server (aiosmtpd) and the
webhook receiver run in this test process; the app sends to them over loopback like to real ones."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from tests.e2e.conftest import VIEWER_EMAIL, VIEWER_PASSWORD, sign_in_cookie
from tests.e2e.helpers import card, connect_oauth, expect_status, new_source, open_source, pick_account, sandbox
from tests.readme_recipe import verify_routy_signature
from tests.receivers import HttpReceiver, SmtpReceiver

SOURCE = "Alerts journey"
SCREENSHOTS = "screenshots"


def _add_channel(page: Page, kind_label: str, fields: dict[str, str]) -> None:
    page.get_by_role("button", name="Add channel").click()
    page.get_by_role("menuitem", name=kind_label).click()
    dialog = page.get_by_role("dialog", name="Add channel")
    for name, value in fields.items():
        dialog.locator(f"#channel-{name}").fill(value)
    return dialog


def _channel(page: Page, name: str):
    return page.locator(".channel-card").filter(has=page.locator(".channel-name").get_by_text(name, exact=True))


def _for_source(items, event: str, kind: str) -> list:
    """Messages about this test's source (other tests' integrations may alert the same channels meanwhile)."""
    if kind == "mail":
        return [m for m in items if SOURCE in m.message["Subject"] and m.message["X-Routy-Event"] == event]
    return [
        r
        for r in items
        if r.path.startswith("/routy-alerts")
        and json.loads(r.body).get("type") == event
        and SOURCE in json.loads(r.body)["incident"]["title"]
    ]


def _shoot(app_server, page: Page, name: str) -> None:
    (app_server.data_dir / SCREENSHOTS).mkdir(exist_ok=True)
    page.screenshot(path=str(app_server.data_dir / SCREENSHOTS / f"{name}.png"), full_page=True)


def test_revoked_google_token_alerts_each_channel_once_and_reconnecting_resolves_it(app_server, page: Page, context):
    page.set_viewport_size({"width": 1440, "height": 1000})
    with SmtpReceiver() as smtp, HttpReceiver() as hooks:
        # 1. Channels, set on the Notifications page (sidebar link).
        page.goto(app_server.url + "/")
        page.get_by_role("navigation", name="Traffic sources").get_by_role("link", name="Notifications").click()
        expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
        dialog = _add_channel(
            page,
            "Email (SMTP)",
            {
                "name": "Ops email",
                "host": "127.0.0.1",
                "port": str(smtp.port),
                "from_addr": "Routy <alerts@routy.test>",
                "to_addrs": "ops@example.com",
            },
        )
        dialog.locator("#channel-security").click()
        page.get_by_role("option", name="None (plain text)").click()
        dialog.get_by_role("button", name="Save channel").click()
        expect(dialog).to_be_hidden()
        email = _channel(page, "Ops email")
        expect(email.locator(".channel-target")).to_have_text(f"127.0.0.1:{smtp.port} → ops@example.com")
        email.get_by_role("button", name="Send test").click()
        expect(email.locator(".channel-test")).to_contain_text("Test OK")
        assert smtp.mails.wait_for(lambda m: len(m) == 1)[0].message["Subject"] == "[Routy] Test: Test alert"

        hook_url = hooks.base_url + "/routy-alerts?token=e2e-url-token"
        dialog = _add_channel(page, "JSON webhook (signed)", {"name": "Pager webhook", "url": hook_url})
        dialog.get_by_role("button", name="Generate").click()
        expect(dialog.locator("#channel-signing_secret")).to_have_attribute("type", "text")  # shown once, to copy
        secret = dialog.locator("#channel-signing_secret").input_value()
        assert secret.startswith("whsec_") and len(secret) > 40
        dialog.get_by_role("button", name="Save channel").click()
        expect(dialog).to_be_hidden()
        webhook = _channel(page, "Pager webhook")
        expect(webhook.locator(".channel-target")).to_have_text(f"{hooks.base_url}/…")
        webhook.get_by_role("button", name="Send test").click()
        expect(webhook.locator(".channel-test")).to_contain_text("Test OK")
        test_hook = hooks.requests.wait_for(lambda r: len(r) == 1)[0]
        verify = verify_routy_signature()
        assert verify(secret, test_hook.headers["x-routy-signature"], test_hook.body)
        hooks.fixed["/gone"] = 410  # a Slack webhook that was removed on Slack's side
        dialog = _add_channel(
            page, "Slack-compatible webhook", {"name": "Old Slack", "url": hooks.base_url + "/gone/T1/B1/x"}
        )
        dialog.get_by_role("button", name="Save channel").click()
        expect(dialog).to_be_hidden()
        page.reload()
        expect(_channel(page, "Pager webhook")).to_be_visible()
        assert secret not in page.content() and "e2e-url-token" not in page.content()

        # 2. A Google Ads integration whose grant is then revoked at "Google".
        source = new_source(app_server, SOURCE)
        before = set(sandbox(app_server, "GET", "/tokens")["tokens"])
        open_source(page, app_server, source)
        connect_oauth(page, "Google Ads")
        pick_account(page, "Routy Shop US")
        expect_status(page, "Google Ads", "Active")
        for token in set(sandbox(app_server, "GET", "/tokens")["tokens"]) - before:
            sandbox(app_server, "POST", "/tokens/revoke", token=token)
        card(page, "Google Ads").get_by_role("link", name="Settings Google Ads").click()
        settings = page.get_by_role("region", name="Google Ads settings")
        settings.get_by_role("button", name="Test Connection").click()
        expect(settings.locator("#test-result")).to_contain_text("expired or revoked")

        # 3. One alert on each channel, one incident shown (Connection tab and Notifications page).
        opened_mail = _for_source(
            smtp.mails.wait_for(lambda m: _for_source(m, "incident.opened", "mail")), "incident.opened", "mail"
        )
        opened_hook = _for_source(
            hooks.requests.wait_for(lambda r: _for_source(r, "incident.opened", "hook")), "incident.opened", "hook"
        )
        assert opened_mail[0].message["Subject"] == f"[Routy] Opened: Google Ads needs reconnection · {SOURCE}"
        assert verify(secret, opened_hook[0].headers["x-routy-signature"], opened_hook[0].body)
        payload = json.loads(opened_hook[0].body)
        assert payload["incident"]["url"] == f"{app_server.url}/sources/{source}"
        page.locator("#back-to-source").click()
        card(page, "Google Ads").get_by_role("link", name="Settings Google Ads").click()
        incidents = page.get_by_role("region", name="Google Ads settings").locator("#connection-incidents .incident")
        expect(incidents).to_have_count(1)
        expect(incidents.locator(".incident-status")).to_have_text("Open")
        expect(incidents.locator(".incident-title")).to_have_text(f"Google Ads needs reconnection · {SOURCE}")
        incidents.scroll_into_view_if_needed()
        _shoot(app_server, page, "connection-tab-incident")
        page.locator("#back-to-source").click()

        page.goto(app_server.url + "/notifications")
        problem = page.locator(".delivery-problem").filter(has_text=f"Google Ads needs reconnection · {SOURCE}")
        expect(problem).to_contain_text("Old Slack")
        expect(problem).to_contain_text("The receiver refused the request with HTTP 410; not retried.")
        expect(problem.get_by_role("button", name="Retry")).to_be_visible()
        mine = page.locator("#incidents .incident").filter(has_text=SOURCE)
        expect(mine).to_have_count(1)
        expect(mine.locator(".incident-status")).to_have_text("Open")
        _shoot(app_server, page, "notifications-1440")
        page.set_viewport_size({"width": 390, "height": 844})
        expect(mine).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        _shoot(app_server, page, "notifications-390")
        page.emulate_media(color_scheme="dark")
        _shoot(app_server, page, "notifications-390-dark")
        page.emulate_media(color_scheme="light")
        page.set_viewport_size({"width": 1440, "height": 1000})

        # 4. Reconnecting clears it: one "resolved" on each channel, and no second "opened".
        open_source(page, app_server, source)
        connect_oauth(page, "Google Ads")
        expect_status(page, "Google Ads", "Active")
        smtp.mails.wait_for(lambda m: _for_source(m, "incident.resolved", "mail"))
        hooks.requests.wait_for(lambda r: _for_source(r, "incident.resolved", "hook"))
        page.goto(app_server.url + "/notifications")
        page.get_by_text("Show resolved").click()
        resolved = page.locator("#incidents .incident").filter(has_text=SOURCE)
        expect(resolved).to_have_count(1)
        expect(resolved.locator(".incident-status")).to_have_text("Resolved")
        expect(resolved).to_contain_text("Google Ads is Active again.")
        page.emulate_media(color_scheme="dark")
        _shoot(app_server, page, "notifications-1440-dark")
        page.emulate_media(color_scheme="light")
        # The job ran again meanwhile (it runs on every status change and every minute): still one of each.
        page.get_by_role("button", name="Refresh").click()
        expect(resolved).to_have_count(1)
        for kind, items in (("mail", smtp.mails.items), ("hook", hooks.requests.items)):
            assert len(_for_source(items, "incident.opened", kind)) == 1
            assert len(_for_source(items, "incident.resolved", kind)) == 1
        mails = [m for m in smtp.mails.items if SOURCE in m.message["Subject"]]
        assert mails[1].message["Subject"] == f"[Routy] Resolved: Google Ads needs reconnection · {SOURCE}"

        # 5. Viewers read the page, without admin controls; then the admin removes the channels.
        context.clear_cookies()
        context.add_cookies([sign_in_cookie(app_server, VIEWER_EMAIL, VIEWER_PASSWORD)])
        page.goto(app_server.url + "/notifications")
        expect(_channel(page, "Ops email")).to_be_visible()
        expect(page.get_by_role("button", name="Add channel")).to_have_count(0)
        expect(page.get_by_role("button", name="Send test")).to_have_count(0)
        expect(page.get_by_role("button", name="Save alerts")).to_have_count(0)
        context.clear_cookies()
        context.add_cookies([sign_in_cookie(app_server, "admin@routy.test", "Ops-Lead-pass-8731")])
        page.goto(app_server.url + "/notifications")
        for name in ("Ops email", "Pager webhook", "Old Slack"):
            _channel(page, name).get_by_role("button", name="Delete").click()
            page.get_by_role("alertdialog").get_by_role("button", name="Delete channel").click()
            expect(_channel(page, name)).to_have_count(0)


def test_channel_form_names_each_bad_field_and_alert_thresholds_are_checked(app_server, page: Page):
    page.goto(app_server.url + "/notifications")
    dialog = _add_channel(page, "Slack-compatible webhook", {"name": "Team chat", "url": "hooks.slack.com/x"})
    dialog.get_by_role("button", name="Save channel").click()
    expect(dialog.locator("#channel-url-error")).to_have_text("Enter a full http:// or https:// URL.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator(".channel-card").filter(has_text="Team chat")).to_have_count(0)

    rules = page.locator("#alert-rules")
    rules.locator("#rule-outbox_lag__minutes").fill("2")
    rules.get_by_role("button", name="Save alerts").click()
    expect(rules.get_by_role("alert")).to_have_text("Between 5 and 10,080 minutes.")
    rules.locator("#rule-outbox_lag__minutes").fill("45")
    rules.get_by_role("switch", name="Sync overdue").click()
    rules.get_by_role("button", name="Save alerts").click()
    expect(rules.get_by_role("alert")).to_have_count(0)
    page.reload()
    expect(page.locator("#rule-outbox_lag__minutes")).to_have_value("45")
    expect(page.get_by_role("switch", name="Sync overdue")).to_have_attribute("aria-checked", "false")
    page.get_by_role("switch", name="Sync overdue").click()
    page.locator("#rule-outbox_lag__minutes").fill("30")
    page.get_by_role("button", name="Save alerts").click()
    expect(page.get_by_text("Alerts saved.")).to_be_visible()
