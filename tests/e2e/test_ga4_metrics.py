"""GA4's Metrics page speaks GA4: sessions, key events and revenue by campaign and source / medium, no cost."""

from __future__ import annotations

import json
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import Page, expect

from routy_app.sandbox.ga4.streams import DEMO_API_SECRET, DEMO_MEASUREMENT_ID, DEMO_PROPERTY_ID
from tests.e2e.helpers import card, expect_status, new_source, open_source


def _service_account() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "routy-test",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": "routy@routy-test.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


def test_ga4_metrics_show_sessions_key_events_and_revenue_by_source_medium(app_server, page: Page):
    page.set_viewport_size({"width": 1440, "height": 900})
    source = new_source(app_server, "GA4 metrics")
    open_source(page, app_server, source)
    card(page, "Google Analytics 4").get_by_role("button", name="Connect Google Analytics 4").click()
    dialog = page.get_by_role("dialog", name="Connect Google Analytics 4")
    dialog.get_by_label("Measurement ID").fill(DEMO_MEASUREMENT_ID)
    dialog.get_by_label("API secret").fill(DEMO_API_SECRET)
    dialog.get_by_label("Property ID").fill(DEMO_PROPERTY_ID)
    dialog.get_by_label("Service-account JSON").fill(_service_account())
    dialog.get_by_role("button", name="Check and save").click()
    expect(dialog).to_be_hidden()
    expect_status(page, "Google Analytics 4", "Active")

    card(page, "Google Analytics 4").get_by_role("link", name="Settings Google Analytics 4").click()
    settings = page.get_by_role("region", name="Google Analytics 4 settings")
    settings.get_by_role("tab", name="Sync History").click()
    expect(settings.locator(".history-row").filter(has_text="Pull").locator(".run-status").first).to_have_text(
        "success", timeout=60_000
    )
    settings.get_by_role("tab", name="Metrics").click()
    tiles = settings.locator(".metric-tile")
    expect(tiles).to_have_count(3)
    for label in ("Sessions", "Key events", "Revenue"):
        expect(tiles.filter(has_text=label)).to_have_count(1)
    expect(tiles.filter(has_text=re.compile("Impressions|Cost|CPC"))).to_have_count(0)
    table = settings.locator("#breakdown")
    expect(table.get_by_role("columnheader", name="Source / medium")).to_be_visible()
    expect(table.get_by_role("columnheader", name=re.compile("Impressions|Cost"))).to_have_count(0)
    first = settings.locator(".breakdown-row").first
    expect(first.locator(".breakdown-detail")).to_contain_text("/")
    expect(settings.locator("#metrics-chart .recharts-legend-wrapper")).to_contain_text("Revenue")
