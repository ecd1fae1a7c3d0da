"""Small helpers for e2e tests: a fresh traffic source per test, sandbox control, card lookup."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session, create_engine

from routy_app.models import TrafficSource
from routy_app.providers import registry

CARDS = len(registry.all_definitions())  # one card per provider


def new_source(app_server, name: str) -> int:
    """Seed a traffic source of its own for one test (tests share one running app)."""
    engine = create_engine(f"sqlite:///{app_server.data_dir / 'routy.db'}")
    with Session(engine) as session:
        source = TrafficSource(name=name)
        session.add(source)
        session.commit()
        source_id = int(source.id)
    engine.dispose()
    return source_id


def open_source(page: Page, app_server, source_id: int) -> None:
    page.goto(f"{app_server.url}/sources/{source_id}")
    expect(page.locator(".provider-card")).to_have_count(CARDS)


def card(page: Page, name: str) -> Locator:
    # CSS, not roles: the cards stay findable while a modal dialog hides them from the a11y tree.
    return page.locator(".provider-card").filter(has=page.locator("h3").get_by_text(name, exact=True))


def expect_status(page: Page, name: str, status: str) -> None:
    expect(card(page, name).locator(".status-badge")).to_have_text(status)


def sandbox(app_server, method: str, path: str, **json):
    """The sandbox's control API, with the control token the server was started with."""
    token = app_server.env["ROUTY_SANDBOX_CONTROL_TOKEN"]
    with app_server.api() as client:
        response = client.request(
            method, f"/sandbox/_control{path}", json=json or None, headers={"X-Sandbox-Control-Token": token}
        )
        assert response.status_code < 300, response.text
        return response.json()


def connect_oauth(page: Page, provider_name: str, decision: str = "Allow") -> None:
    """Click Connect on the card, then Allow/Deny on the sandbox consent page."""
    card(page, provider_name).get_by_role("button", name=re.compile(r"^(Connect|Reconnect)")).click()
    page.wait_for_url(re.compile(r"/sandbox/(google|facebook)/"))
    page.get_by_role("button", name=decision, exact=True).click()
    page.wait_for_url(re.compile(r"/sources/\d+\?"))


def pick_account(page: Page, account_name: str) -> None:
    dialog = page.get_by_role("dialog", name="Select the ad account to link")
    expect(dialog).to_be_visible()
    dialog.get_by_role("radio", name=account_name, exact=True).click()
    dialog.get_by_role("button", name="Link account").click()
    expect(dialog).to_be_hidden()
