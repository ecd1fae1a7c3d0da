"""Pull journeys: Sync settings, Sync Now with live progress, Sync History, Metrics."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import card, connect_oauth, expect_status, new_source, open_source, pick_account, sandbox


def _settings_tab(page: Page, tab: str):
    card(page, "Google Ads").get_by_role("link", name=re.compile(r"^Settings")).click()
    dialog = page.get_by_role("region", name="Google Ads settings")
    dialog.get_by_role("tab", name=tab, exact=True).click()
    return dialog


def test_sync_now_shows_progress_then_a_history_row(app_server, page: Page):
    source = new_source(app_server, "Sync now")
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    pick_account(page, "Routy Shop US")
    expect_status(page, "Google Ads", "Active")
    dialog = _settings_tab(page, "Sync History")
    # Linking an account starts the first sync on its own; wait for it before syncing again.
    first = dialog.locator(".history-row").filter(has_text="Pull · Scheduled")
    expect(first.locator(".run-status")).to_have_text("success", timeout=60_000)
    # a pull of some seconds (the lookback days, 1,000 keywords per ad group), so its progress can be watched
    sandbox(app_server, "POST", "/config", days=30, keywords_per_ad_group=1000)
    try:
        dialog.get_by_role("tab", name="Sync", exact=True).click()
        dialog.get_by_role("button", name="Sync Now").click()
        # the bar and text follow the rows read against the previous (scheduled) pull's size
        expect(dialog.locator("#sync-progress")).to_contain_text(
            re.compile(r"rows so far: campaigns \d[\d,]*.* \(about \d+ % of the previous sync's \d[\d,]* rows\)")
        )  # and the rows of each level read so far
        expect(dialog.locator("#sync-result")).to_contain_text(re.compile(r"\d[\d,]* rows"), timeout=90_000)
    finally:
        sandbox(app_server, "POST", "/config", days=90, keywords_per_ad_group=3)
    dialog.get_by_role("tab", name="Sync History").click()
    manual = dialog.locator(".history-row").first
    expect(manual).to_contain_text("Pull · Manual")
    expect(manual.locator(".run-status")).to_have_text("success")

    dialog.get_by_role("tab", name="Connection").click()
    expect(dialog).not_to_contain_text("Last successful sync never")


def test_sync_settings_validate_and_save(app_server, page: Page):
    source = new_source(app_server, "Sync settings")
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    pick_account(page, "Routy Shop UK")
    dialog = _settings_tab(page, "Sync")
    dialog.get_by_label("Lookback days").fill("500")
    dialog.get_by_role("button", name="Save sync settings").click()
    expect(dialog.locator("#lookback_days-error")).to_contain_text("from 0 to 90")
    dialog.get_by_label("Lookback days").fill("3")
    dialog.get_by_role("combobox", name="Schedule").click()
    page.get_by_role("option", name="Every 6 hours").click()
    dialog.get_by_role("button", name="Save sync settings").click()
    expect(page.get_by_text("Sync settings saved")).to_be_visible()
    # The tab is a URL: a reload lands on it again.
    expect(page).to_have_url(re.compile(r"/integrations/\d+/sync$"))
    page.reload()
    dialog = page.get_by_role("region", name="Google Ads settings")
    expect(dialog.get_by_role("tab", name="Sync", exact=True)).to_have_attribute("aria-selected", "true")
    expect(dialog.get_by_role("combobox", name="Schedule")).to_contain_text("Every 6 hours")
    expect(dialog.get_by_label("Lookback days")).to_have_value("3")


def test_metrics_tiles_chart_drill_down_and_csv(app_server, page: Page):
    source = new_source(app_server, "Metrics")
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    pick_account(page, "Shop DE")
    dialog = _settings_tab(page, "Sync History")
    expect(dialog.locator(".history-row").filter(has_text="Pull").locator(".run-status").first).to_have_text(
        "success", timeout=60_000
    )
    dialog.get_by_role("tab", name="Metrics").click()
    expect(dialog.locator(".metric-tile")).to_have_count(7)
    expect(dialog.locator(".metric-tile").filter(has_text="Cost").first).to_contain_text("EUR")
    expect(dialog.locator("#metrics-chart svg").first).to_be_visible()
    rows = dialog.locator(".breakdown-row")
    expect(rows.first).to_be_visible()
    campaign = rows.first.locator(".drill").inner_text()
    account_clicks = dialog.locator(".metric-tile").filter(has_text="Clicks").inner_text()
    expect(dialog.locator("#metrics-scope")).to_have_text("Totals and chart: the whole account")
    rows.first.locator(".drill").click()
    expect(dialog.locator("#breakdown-level")).to_have_text("Ad groups")
    expect(dialog.locator(".crumb")).to_have_text(campaign)
    # Tiles and chart follow the drill-down: they now total that campaign.
    expect(dialog.locator("#metrics-scope")).to_have_text(f"Totals and chart: {campaign}")
    expect(dialog.locator(".metric-tile").filter(has_text="Clicks")).not_to_have_text(account_clicks)
    rows.first.locator(".drill").click()
    expect(dialog.locator("#breakdown-level")).to_have_text("Ads")
    dialog.get_by_role("button", name="Keywords").click()
    expect(dialog.locator("#breakdown-level")).to_have_text("Keywords")
    expect(rows.first).to_be_visible()

    dialog.get_by_role("button", name=re.compile("^Clicks")).click()
    expect(dialog.get_by_role("button", name=re.compile("^Clicks"))).to_contain_text("↓")
    href = dialog.get_by_role("link", name="Export CSV").get_attribute("href")
    answer = page.request.get(app_server.url + href)
    assert answer.status == 200 and answer.text().splitlines()[0].startswith("id,name,impressions,clicks")
    assert len(answer.text().splitlines()) >= 2
    # Clicking it downloads the file (it is not routed inside the single-page app to a 404 page).
    url_before = page.url
    with page.expect_download() as download_info:
        dialog.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0].startswith("id,name,impressions,clicks") and len(lines) >= 2
    assert page.url == url_before
    expect(page.get_by_text("404")).to_have_count(0)


def test_a_sync_left_running_by_a_dead_process_is_shown_interrupted_and_sync_now_works(app_server, page: Page):
    """A process died mid-pull (its lease and running run are left in the database): Sync Now is not
    refused, and Sync History shows the dead run as interrupted, with why."""
    source = new_source(app_server, "Dead sync")
    open_source(page, app_server, source)
    connect_oauth(page, "Google Ads")
    pick_account(page, "Routy Shop US")
    dialog = _settings_tab(page, "Sync History")
    expect(dialog.locator(".history-row").filter(has_text="Pull · Scheduled").locator(".run-status")).to_have_text(
        "success", timeout=60_000
    )
    _a_pull_whose_process_died(app_server, source)
    dialog.get_by_role("tab", name="Sync", exact=True).click()
    dialog.get_by_role("button", name="Sync Now").click()
    expect(dialog.locator("#sync-result")).to_contain_text(re.compile(r"rows read"), timeout=90_000)
    dialog.get_by_role("tab", name="Sync History").click()
    dead = dialog.locator(".history-row").filter(has_text="Pull · Manual").filter(has_text="interrupted")
    expect(dead.locator(".run-status")).to_have_text("interrupted")
    dead.get_by_text("Why").click()
    expect(dead).to_contain_text("the process is gone")
    expect(dialog.locator(".history-row").first.locator(".run-status")).to_have_text("success")


def _a_pull_whose_process_died(app_server, source_id: int) -> None:
    """What a SIGKILLed process leaves: its lease (this machine, a pid that has exited) and its run."""
    import datetime as dt
    import subprocess
    import sys

    from sqlmodel import Session, create_engine, select

    from routy_app.models import Integration, Lease, SyncRun
    from routy_app.services import leases

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    now = dt.datetime.now(dt.UTC)
    engine = create_engine(f"sqlite:///{app_server.data_dir / 'routy.db'}")
    with Session(engine) as session:
        integration = session.exec(select(Integration).where(Integration.traffic_source_id == source_id)).one()
        session.add(
            Lease(
                name=leases.run_lock_name(int(integration.id)),
                holder=f"dead:{child.pid}:x",
                expires_at=now + dt.timedelta(seconds=50),
                renewed_at=now - dt.timedelta(seconds=10),
                machine=leases.current_process().machine,
                pid=child.pid,
                pid_started=now.timestamp() - 30,
            )
        )
        session.add(
            SyncRun(
                integration_id=int(integration.id),
                kind="pull",
                trigger="manual",
                status="running",
                started_at=now - dt.timedelta(seconds=40),
                records_read=2000,
                holder=f"dead:{child.pid}:x",
            )
        )
        session.commit()
    engine.dispose()
