"""The Conversions tab: API key shown once and masked after, test conversions, validation errors."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.helpers import new_source, open_source


def test_api_key_test_conversion_and_ingest_api(app_server, page: Page):
    source = new_source(app_server, "Conversions tab")
    open_source(page, app_server, source)
    page.get_by_role("tab", name="Conversions").click()
    expect(page.locator("#api-key-masked")).to_have_text("No API key yet.")
    page.get_by_role("button", name="Create / rotate key").click()
    key = page.locator("#api-key-new").inner_text()
    assert key.startswith("rk_")
    expect(page.locator("#api-key-masked")).to_contain_text(key[-4:])
    page.get_by_role("dialog", name="New API key").get_by_role("button", name="Done").click()
    expect(page.locator("#api-key-new")).to_have_count(0)  # shown once: gone with its dialog

    page.get_by_label("Value").fill("12.5")
    page.get_by_role("button", name="Record test conversion").click()
    expect(page.locator("#conversion-form-error")).to_contain_text("currency")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_role("button", name="Record test conversion").click()
    expect(page.locator(".conversion-row")).to_have_count(1)
    expect(page.locator(".conversion-row").first).to_contain_text("12.50 EUR")

    answer = httpx.post(
        f"{app_server.url}/api/v1/conversions",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "id": "api-1",
            "event_type": "sale",
            "occurred_at": "2026-11-27T10:00:00+00:00",
            "email": "Buyer@Example.com",
        },
    )
    assert answer.status_code == 201, answer.text
    page.reload()
    page.get_by_role("tab", name="Conversions").click()
    expect(page.locator(".conversion-row")).to_have_count(2)
    expect(page.locator(".conversion-row").filter(has_text="api-1")).to_contain_text("email (hashed)")
    page.get_by_role("button", name="Create / rotate key").click()
    expect(page.locator("#api-key-new")).not_to_have_text(key)
    refused = httpx.post(
        f"{app_server.url}/api/v1/conversions",
        headers={"Authorization": f"Bearer {key}"},
        json={"id": "api-2", "event_type": "sale", "occurred_at": "2026-11-27T10:00:00+00:00"},
    )
    assert refused.status_code == 401 and re.search("key", refused.text, re.I)
