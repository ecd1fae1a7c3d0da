"""The Webhook card: connect it to the sandbox's request bin, map an event type, ingest conversions through
the API, and see each recorded once in the bin and in Push History (signature verifiable)."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.helpers import card, expect_status, new_source, open_source, sandbox
from tests.e2e.test_hardening import _create_key
from tests.readme_recipe import verify_routy_signature

SECRET = "whsec_e2e-webhook-secret-0001"


def bin_requests(app_server, bin_name: str) -> list[dict]:
    received = sandbox(app_server, "GET", "/received?provider=webhook")["received"]["webhook"]
    return [r for r in received if r["bin"] == bin_name]


def post_conversion(app_server, key: str, n: int) -> None:
    """One conversion through the ingest API, as the traffic source's system sends it."""
    answer = httpx.post(
        f"{app_server.url}/api/v1/conversions",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "id": f"hook-{n}",
            "event_type": "sale",
            "occurred_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
            "value": "7.5",
            "currency": "EUR",
            "gclid": f"Cj0-e2e-{n}",
        },
    )
    assert answer.status_code == 201, answer.text


def test_webhook_card_sends_each_conversion_once_to_the_sandbox_bin(app_server, page: Page):
    source = new_source(app_server, "Webhook")
    bin_name = f"e2e-{source}"
    open_source(page, app_server, source)

    card(page, "Webhook").get_by_role("button", name="Connect Webhook").click()
    dialog = page.get_by_role("dialog", name="Connect Webhook")
    url = dialog.get_by_label("URL", exact=True)
    expect(url).to_have_value(re.compile(r"/sandbox/webhook/demo\?"))  # sandbox mode starts at the bin
    url.fill(f"{app_server.url}/sandbox/webhook/{bin_name}?id={{id}}&nope={{nope}}")
    dialog.get_by_label("Signing secret").fill(SECRET)
    dialog.get_by_role("combobox", name="Method").click()  # a choice of the definition's set-up fields
    page.get_by_role("option", name="PUT", exact=True).click()
    dialog.get_by_role("button", name="Check and save").click()
    expect(dialog.locator("#url_template-error")).to_contain_text("{nope}")  # an unknown macro, under its field
    url.fill(f"{app_server.url}/sandbox/webhook/{bin_name}?id={{id}}&v={{value}}")
    dialog.get_by_role("button", name="Check and save").click()
    expect(dialog).to_be_hidden()
    expect_status(page, "Webhook", "Active")
    expect(card(page, "Webhook")).to_contain_text("PUT localhost")

    card(page, "Webhook").get_by_role("link", name=re.compile("^Settings")).click()
    settings = page.get_by_role("region", name="Webhook settings")
    settings.get_by_role("tab", name="Conversion Mappings").click()
    settings.get_by_label("Routy event type").fill("sale")
    settings.get_by_role("button", name="Add mapping").click()
    expect(settings.locator(".mapping-row")).to_contain_text("Webhook")

    key = _create_key(app_server, source)
    for n in (1, 2):
        post_conversion(app_server, key, n)

    settings.get_by_role("tab", name="Push History").click()
    settings.get_by_role("button", name="Push now").click()
    rows = settings.locator(".push-row")
    expect(rows.filter(has_text="hook-1").locator(".push-status")).to_have_text("sent")
    expect(rows.filter(has_text="hook-2").locator(".push-status")).to_have_text("sent")
    expect(rows.filter(has_text="hook-1")).to_contain_text("HTTP 200 in")

    got = bin_requests(app_server, bin_name)
    assert sorted(r["params"]["id"] for r in got) == ["hook-1", "hook-2"]  # once each
    verify = verify_routy_signature()
    for request in got:
        assert request["method"] == "PUT" and request["params"]["v"] == "7.5"
        assert request["json"]["id"] in ("hook-1", "hook-2") and request["json"]["value"] == 7.5
        assert verify(SECRET, request["headers"]["x-routy-signature"], request["body"].encode())

    settings.get_by_role("button", name="Push now").click()  # nothing is due: nothing is sent again
    expect(settings.locator("#push-result")).to_have_text("Pushed 0 conversions.")
    assert len(bin_requests(app_server, bin_name)) == 2

    # the bin answers 500 once: retried within the push and delivered once; then 400: rejected, not retried
    sandbox(app_server, "POST", "/faults", operation=f"webhook.{bin_name}", condition="http_500", times=1)
    post_conversion(app_server, key, 3)
    settings.get_by_role("button", name="Push now").click()
    expect(rows.filter(has_text="hook-3").locator(".push-status")).to_have_text("sent")
    assert [r["status"] for r in bin_requests(app_server, bin_name) if r["params"]["id"] == "hook-3"] == [500, 200]
    sandbox(
        app_server,
        "POST",
        "/faults",
        operation=f"webhook.{bin_name}",
        condition="http_400",
        times=1,
        params={"body": "unknown offer"},
    )
    post_conversion(app_server, key, 4)
    settings.get_by_role("button", name="Push now").click()
    rejected = rows.filter(has_text="hook-4")
    expect(rejected.locator(".push-status")).to_have_text("failed")
    expect(rejected).to_contain_text("not retried")
    expect(rejected).to_contain_text("unknown offer")
    settings.get_by_role("button", name="Push now").click()
    expect(settings.locator("#push-result")).to_have_text("Pushed 0 conversions.")
    assert [r["status"] for r in bin_requests(app_server, bin_name) if r["params"]["id"] == "hook-4"] == [400]

    settings.get_by_role("tab", name="Sync History").click()
    expect(settings.locator(".history-row").filter(has_text="Push · Manual").first).to_be_visible()

    settings.get_by_role("tab", name="Conversion Mappings").click()
    settings.locator(".mapping-row").get_by_role("button", name="Test push").click()
    expect(settings.get_by_text("Test push really sends the request")).to_be_visible()
    settings.get_by_role("button", name="Send test").click()
    expect(settings.locator("#test-push-answer")).to_contain_text("this request reached your URL")
    assert len(bin_requests(app_server, bin_name)) == 6  # the test push really sent one more
    page.locator("#back-to-source").click()

    page.set_viewport_size({"width": 390, "height": 844})  # phone width: the card and its status still read
    expect_status(page, "Webhook", "Active")
    card(page, "Webhook").scroll_into_view_if_needed()
    expect(card(page, "Webhook").get_by_role("link", name=re.compile("^Settings"))).to_be_visible()
