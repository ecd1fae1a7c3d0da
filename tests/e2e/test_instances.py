"""Two instances from one install folder, each started as `make run PORT=...` with the same data dir
(issue 18, items 5 and 6): each one's pages talk to their own instance and keep working when the other
stops, and a schedule saved in the instance that does not lead reaches the leader within 30 s."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ROOT,
    RunningApp,
    _free_port,
    _wait_until_healthy,
    sign_in_cookie,
)
from tests.e2e.helpers import card, connect_oauth, expect_status, open_source, pick_account

TARGET = 30  # seconds from saving a schedule to the leader pulling


def _make_run(data_dir: Path, port: int, web_dir: str) -> tuple[subprocess.Popen, RunningApp]:
    """`make run` as a person would type it, with the test's data dir (and a build folder that stays
    warm between test runs: WEB_DIR defaults to .web-<port>, and these ports are random)."""
    url = f"http://localhost:{port}"
    env = {
        **os.environ,
        "ROUTY_DATA_DIR": str(data_dir),
        "ROUTY_PROVIDER_MODE": "sandbox",
        "ROUTY_SECRET_KEY": "e2e-instances-key",
        "ROUTY_ADMIN_EMAIL": ADMIN_EMAIL,
        "ROUTY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ROUTY_LOG_LEVEL": "INFO",
    }
    for name in ("DATABASE_URL", "PUBLIC_URL", "REFLEX_WEB_WORKDIR"):
        env.pop(name, None)
    log_path = data_dir / f"make-run-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["make", "run", f"PORT={port}", f"WEB_DIR={web_dir}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, RunningApp(url=url, data_dir=data_dir, env=env, log_path=log_path)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def two_instances(tmp_path):
    data_dir = tmp_path / "shared-data"
    data_dir.mkdir()
    first_proc, first = _make_run(data_dir, _free_port(), ".web-e2e-first")
    started = [first_proc]
    try:
        _wait_until_healthy(first_proc, first.url, first.log_path)  # it leads the scheduler
        second_proc, second = _make_run(data_dir, _free_port(), ".web-e2e-second")
        started.append(second_proc)
        _wait_until_healthy(second_proc, second.url, second.log_path)
        yield (first_proc, first), (second_proc, second)
    finally:
        for proc in started:
            _stop(proc)


def _sockets(page: Page) -> list[str]:
    urls: list[str] = []
    page.on("websocket", lambda ws: urls.append(ws.url))
    return urls


def _scheduled_pulls(conn) -> int:
    return conn.execute(
        text("SELECT COUNT(*) FROM syncrun WHERE kind = 'pull' AND trigger = 'schedule' AND status = 'success'")
    ).scalar()


def _db(app: RunningApp):
    return create_engine(f"sqlite:///{app.data_dir / 'routy.db'}")


@pytest.mark.signed_out
def test_two_instances_from_one_folder_each_serve_their_own_pages_and_share_the_schedule(
    two_instances, context, page: Page
):
    (first_proc, first), (second_proc, second) = two_instances
    context.add_cookies([sign_in_cookie(first, ADMIN_EMAIL, ADMIN_PASSWORD)])  # one database: valid on both
    for app in (first, second):
        assert httpx.get(f"{app.url}/healthz", timeout=5).status_code == 200

    first_sockets = _sockets(page)
    open_source(page, first, 1)
    other = context.new_page()
    second_sockets = _sockets(other)
    open_source(other, second, 1)
    for app, urls in ((first, first_sockets), (second, second_sockets)):  # each page talks to its own instance
        assert urls and all(url.startswith(app.url.replace("http", "ws") + "/") for url in urls), (app.url, urls)

    connect_oauth(page, "Google Ads")  # on the first instance (and its sandbox)
    pick_account(page, "Routy Shop US")
    expect_status(page, "Google Ads", "Active")
    engine = _db(first)
    with engine.connect() as conn:  # the leader's first pull of the new integration
        deadline = time.monotonic() + 90
        while conn.execute(text("SELECT last_pull_at FROM integration")).scalar() is None:
            assert time.monotonic() < deadline, first.log_tail()
            conn.rollback()
            page.wait_for_timeout(200)  # (polling the database, not waiting for time to pass)
    other.reload()
    expect_status(other, "Google Ads", "Active")

    # Daily, last pulled 20 minutes ago; then, on the instance that does not lead: every 15 minutes.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE integration SET schedule_minutes = 1440, last_pull_at = :t"),
            {"t": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)).replace(tzinfo=None)},
        )
        pulls_before = _scheduled_pulls(conn)
    card(other, "Google Ads").get_by_role("link", name=re.compile(r"^Settings")).click()
    dialog = other.get_by_role("region", name="Google Ads settings")
    dialog.get_by_role("tab", name="Sync", exact=True).click()
    dialog.get_by_role("combobox", name="Schedule").click()
    other.get_by_role("option", name="Every 15 minutes").click()
    dialog.get_by_role("button", name="Save sync settings").click()
    expect(other.get_by_text("Sync settings saved")).to_be_visible()
    saved = time.monotonic()
    with engine.connect() as conn:
        while _scheduled_pulls(conn) <= pulls_before:
            assert time.monotonic() - saved < TARGET, first.log_tail() + second.log_tail()
            conn.rollback()
            other.wait_for_timeout(200)
        holder = conn.execute(text("SELECT holder FROM syncrun ORDER BY id DESC LIMIT 1")).scalar()
    assert os.getpgid(int(holder.split(":")[1])) == first_proc.pid  # the leader (first instance) pulled
    print(f"\nschedule saved on the second instance -> pulled by the leader in {time.monotonic() - saved:.1f} s")

    _stop(second_proc, signal.SIGKILL)  # the second instance dies: the first one's page does not care
    card(page, "Google Ads").get_by_role("link", name=re.compile(r"^Settings")).click()
    dialog = page.get_by_role("region", name="Google Ads settings")
    dialog.get_by_role("tab", name="Sync History").click()
    expect(dialog.locator(".history-row").filter(has_text="Pull · Scheduled")).to_have_count(2)
    dialog.get_by_role("tab", name="Sync", exact=True).click()
    expect(dialog.get_by_role("combobox", name="Schedule")).to_contain_text("Every 15 minutes")
