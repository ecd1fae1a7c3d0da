"""The pull engine (services/pull/) with the real adapters against the in-process sandbox."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import func, update
from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus, MetricRow, SyncRun
from routy_app.services import integrations, leases
from routy_app.services.leases import AlreadyRunning
from routy_app.services.pull import run_pull, today_in
from routy_app.services.runs import RunRefused
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture

LEVELS = ("campaign", "ad_group", "ad", "keyword")


@pytest.fixture
def small(sandbox_state):
    """2 campaigns x 2 ad groups x (1 ad, 2 keywords), 10 days: 2 + 4 + 4 + 8 = 18 entities."""
    cfg = sandbox_state.config
    cfg.days, cfg.campaigns_per_account, cfg.ad_groups_per_campaign = 10, 2, 2
    cfg.ads_per_ad_group, cfg.keywords_per_ad_group = 1, 2
    return sandbox_state


ENTITIES = 18


@pytest.fixture
def queries(sandbox_http: httpx.AsyncClient) -> list[str]:
    """The GAQL of every googleAds:search call the adapter makes."""
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        if request.url.path.endswith("googleAds:search"):
            seen.append(request.content.decode())

    sandbox_http.event_hooks["request"].append(hook)
    return seen


def _count(integration_id: int, **where) -> int:
    with session_scope() as session:
        query = select(func.count()).select_from(MetricRow).where(MetricRow.integration_id == integration_id)
        for column, value in where.items():
            query = query.where(getattr(MetricRow, column) == value)
        return int(session.exec(query).one())


def _duplicates(integration_id: int) -> int:
    with session_scope() as session:
        keys = session.exec(
            select(
                MetricRow.level,
                MetricRow.date,
                MetricRow.campaign_id,
                MetricRow.ad_group_id,
                MetricRow.ad_id,
                MetricRow.keyword_id,
            ).where(MetricRow.integration_id == integration_id)
        ).all()
    return len(keys) - len(set(keys))


def _integration(integration_id: int) -> Integration:
    with session_scope() as session:
        return session.get(Integration, integration_id)


def _run(run_id: int) -> SyncRun:
    with session_scope() as session:
        return session.get(SyncRun, run_id)


async def test_first_run_pulls_history_then_incremental_pulls_from_cursor_minus_lookback(hub, small, queries):
    iid = await connected_integration(hub, "google_ads")
    first = await run_pull(hub, iid, "manual")
    assert first.status == "success", first.error
    assert first.read == ENTITIES * 10 and first.inserted == first.read and first.updated == 0
    assert _count(iid) == ENTITIES * 10
    integration = _integration(iid)
    today = today_in(integration.account_timezone)
    assert integration.metrics_cursor == today and integration.last_success_at is not None
    assert first.start == today - dt.timedelta(days=89)  # history_days = 90

    queries.clear()
    second = await run_pull(hub, iid, "schedule")
    assert second.status == "success"
    assert second.start == today - dt.timedelta(days=7)  # lookback_days = 7 from the cursor
    assert all(f"BETWEEN '{second.start.isoformat()}' AND '{today.isoformat()}'" in q for q in queries)
    assert len(queries) == len(LEVELS)
    assert second.read == ENTITIES * 8 and second.updated == second.read and second.inserted == 0
    assert _count(iid) == ENTITIES * 10 and _duplicates(iid) == 0
    run = _run(second.run_id)
    assert (run.status, run.kind, run.trigger, run.records_read, run.records_updated) == (
        "success",
        "pull",
        "schedule",
        ENTITIES * 8,
        ENTITIES * 8,
    )
    assert run.finished_at is not None and run.progress_level is None


async def test_lookback_replaces_restated_values_without_duplicating(hub, small):
    iid = await connected_integration(hub, "google_ads")
    await run_pull(hub, iid, "manual")
    today = today_in(_integration(iid).account_timezone)
    with session_scope() as session:  # the stored copy is an older version of the provider's numbers
        truth = {
            r.id: (r.cost_micros, r.clicks)
            for r in session.exec(select(MetricRow).where(MetricRow.date == today - dt.timedelta(days=3))).all()
        }
        session.exec(
            update(MetricRow).where(MetricRow.date == today - dt.timedelta(days=3)).values(cost_micros=1, clicks=0)
        )
        session.commit()
    summary = await run_pull(hub, iid, "schedule")
    assert summary.status == "success" and summary.inserted == 0
    with session_scope() as session:
        now = {
            r.id: (r.cost_micros, r.clicks)
            for r in session.exec(select(MetricRow).where(MetricRow.date == today - dt.timedelta(days=3))).all()
        }
    assert now == truth and len(now) == ENTITIES
    assert _duplicates(iid) == 0 and _count(iid) == ENTITIES * 10


async def test_force_full_sync_repulls_history_and_removes_what_the_provider_no_longer_reports(hub, small):
    iid = await connected_integration(hub, "google_ads")
    await run_pull(hub, iid, "manual")
    await run_pull(hub, iid, "schedule")  # cursor set; an incremental run would not reach day -9
    campaign_ids = _campaigns(iid)
    assert len(campaign_ids) == 2

    small.config.campaigns_per_account = 1  # the second campaign (and everything under it) is gone
    summary = await run_pull(hub, iid, "full")
    assert summary.status == "success", summary.error
    assert summary.start == today_in(_integration(iid).account_timezone) - dt.timedelta(days=89)
    remaining = ENTITIES // 2 * 10
    assert summary.read == remaining and summary.updated == remaining and summary.inserted == 0
    assert summary.deleted == remaining
    assert _count(iid) == remaining and _duplicates(iid) == 0
    assert len(_campaigns(iid)) == 1 and _campaigns(iid) < campaign_ids
    run = _run(summary.run_id)
    assert (run.trigger, run.records_updated, run.records_inserted) == ("full", remaining, 0)


def _campaigns(integration_id: int) -> set[str]:
    with session_scope() as session:
        return set(
            session.exec(
                select(MetricRow.campaign_id).where(MetricRow.integration_id == integration_id).distinct()
            ).all()
        )


async def test_full_sync_inserts_rows_for_entities_that_appeared(hub, small):
    iid = await connected_integration(hub, "google_ads")
    await run_pull(hub, iid, "manual")
    small.config.campaigns_per_account = 3
    summary = await run_pull(hub, iid, "full")
    new_rows = ENTITIES // 2 * 10
    assert summary.read == ENTITIES * 10 + new_rows
    assert summary.inserted == new_rows and summary.updated == ENTITIES * 10 and summary.deleted == 0
    assert _count(iid) == ENTITIES * 10 + new_rows and _duplicates(iid) == 0


async def test_a_report_of_several_pages_lands_every_row_exactly_once(hub, sandbox_state):
    cfg = sandbox_state.config  # keyword level: 6 x 10 x 10 keywords x 20 days = 12,000 rows (2 pages)
    cfg.days, cfg.campaigns_per_account, cfg.ad_groups_per_campaign = 20, 6, 10
    cfg.ads_per_ad_group, cfg.keywords_per_ad_group = 1, 10
    iid = await connected_integration(hub, "google_ads")
    progress: list[tuple[str, int]] = []
    summary = await run_pull(hub, iid, "manual", on_progress=lambda level, rows: progress.append((level, rows)))
    expected = {"campaign": 6 * 20, "ad_group": 60 * 20, "ad": 60 * 20, "keyword": 600 * 20}
    assert summary.status == "success" and summary.read == sum(expected.values())
    for level, n in expected.items():
        assert _count(iid, level=level) == n
    assert _duplicates(iid) == 0
    keyword_pages = [rows for level, rows in progress if level == "keyword"]
    assert len(keyword_pages) == 2 and keyword_pages[-1] == summary.read
    assert [rows for _, rows in progress] == sorted(rows for _, rows in progress)


async def test_a_failing_level_makes_a_partial_run_and_the_others_are_written(hub, small):
    iid = await connected_integration(hub, "google_ads")
    small.faults.add("google_ads.search", "http_500", times=4)  # FAST_RETRY gives up after 4: campaign level
    summary = await run_pull(hub, iid, "manual")
    assert summary.status == "partial" and summary.failed_levels == ["campaign"]
    assert "campaign" in summary.error and "internal error" in summary.error.lower()
    assert _count(iid, level="campaign") == 0
    assert _count(iid, level="keyword") == 8 * 10 and _count(iid, level="ad_group") == 4 * 10
    integration = _integration(iid)
    assert integration.metrics_cursor is None  # the window is pulled again next time
    assert integration.consecutive_failures == 1 and integration.last_error == summary.error
    run = _run(summary.run_id)
    assert run.status == "partial" and run.error == summary.error and run.records_read == summary.read


async def test_transient_errors_are_retried_within_the_run(hub, small):
    iid = await connected_integration(hub, "google_ads")
    small.faults.add("google_ads.search", "http_503", times=2)
    summary = await run_pull(hub, iid, "manual")
    assert summary.status == "success" and summary.read == ENTITIES * 10


async def test_failed_runs_count_up_and_the_third_needs_attention(hub, small):
    iid = await connected_integration(hub, "google_ads")
    for attempt in range(1, 4):
        small.faults.add("google_ads.search", "http_500", times=4 * len(LEVELS))
        summary = await run_pull(hub, iid, "schedule")
        assert summary.status == "failed" and summary.read == 0
        integration = _integration(iid)
        assert integration.consecutive_failures == attempt
        assert integration.status == (IntegrationStatus.NEEDS_ATTENTION if attempt == 3 else IntegrationStatus.ACTIVE)
    assert _run(summary.run_id).status == "failed" and "An internal error has occurred" in _run(summary.run_id).error
    ok = await run_pull(hub, iid, "manual")  # Needs attention still pulls; a success clears it
    assert ok.status == "success"
    integration = _integration(iid)
    assert integration.status == IntegrationStatus.ACTIVE and integration.consecutive_failures == 0


async def test_a_long_rate_limit_hint_fails_the_run_with_a_clear_message(hub, small):
    iid = await connected_integration(hub, "google_ads")
    small.faults.add("google_ads.search", "quota_429", times=len(LEVELS), retry_delay="3600s")
    summary = await run_pull(hub, iid, "manual")
    assert summary.status == "failed"
    assert "rate limit" in summary.error and "3600 s" in summary.error


async def test_refused_authorisation_makes_it_reconnection_required(hub, small):
    iid = await connected_integration(hub, "google_ads")
    with session_scope() as session:
        creds = integrations.load_credentials(session.get(Integration, iid))
    small.tokens.revoke(creds.refresh_token)  # also revokes the access tokens minted from it
    summary = await run_pull(hub, iid, "manual")
    assert summary.status == "failed" and "refused" in summary.error
    integration = _integration(iid)
    assert integration.status == IntegrationStatus.RECONNECT_REQUIRED
    with pytest.raises(RunRefused, match="Reconnect"):
        await run_pull(hub, iid, "manual")


async def test_a_token_refreshed_mid_run_is_stored(hub, small):
    iid = await connected_integration(hub, "google_ads")
    with session_scope() as session:
        before = integrations.load_credentials(session.get(Integration, iid))
    small.tokens.expire(before.access_token)
    summary = await run_pull(hub, iid, "manual")
    assert summary.status == "success"
    with session_scope() as session:
        after = integrations.load_credentials(session.get(Integration, iid))
    assert after.access_token != before.access_token and after.refresh_token == before.refresh_token


async def test_overlapping_runs_are_refused(hub, small):
    iid = await connected_integration(hub, "google_ads")
    with leases.held_without_heartbeat(iid):
        assert leases.is_running(iid)
        with pytest.raises(AlreadyRunning, match="already running"):
            await run_pull(hub, iid, "manual")
    assert not leases.is_running(iid)
    with session_scope() as session:
        assert session.exec(select(SyncRun)).all() == []  # a refused run leaves no row
    assert (await run_pull(hub, iid, "manual")).status == "success"
    assert not leases.is_running(iid)


async def test_an_expired_lock_of_a_dead_process_is_taken_over(hub, small):
    iid = await connected_integration(hub, "google_ads")
    assert leases.try_acquire_lease(leases.run_lock_name(iid), "dead-host:1:x", dt.timedelta(seconds=-1))
    assert (await run_pull(hub, iid, "manual")).status == "success"


async def test_paused_and_push_only_integrations_do_not_pull(hub, small):
    iid = await connected_integration(hub, "google_ads")
    integrations.set_paused(iid, True)
    with pytest.raises(RunRefused, match="Resume the integration to sync"):
        await run_pull(hub, iid, "manual")
    integrations.set_paused(iid, False)
    with session_scope() as session:
        session.exec(update(Integration).where(Integration.id == iid).values(direction="push"))
        session.commit()
    with pytest.raises(RunRefused, match="only pushes"):
        await run_pull(hub, iid, "manual")
    assert _count(iid) == 0


async def test_meta_pulls_its_three_levels(hub, small):
    iid = await connected_integration(hub, "meta_ads")
    summary = await run_pull(hub, iid, "manual")
    assert summary.status == "success", summary.error
    levels = {lvl for lvl in ("campaign", "ad_group", "ad", "keyword") if _count(iid, level=lvl)}
    assert levels == {"campaign", "ad_group", "ad"}
    again = await run_pull(hub, iid, "schedule")
    assert again.status == "success" and again.inserted == 0 and _duplicates(iid) == 0


async def test_ga4_pulls_campaign_rows_when_it_has_a_property_and_a_service_account(hub, small):
    from routy_app.sandbox.ga4.streams import DEMO_API_SECRET, DEMO_MEASUREMENT_ID, DEMO_PROPERTY_ID

    push_only = await connected_integration(hub, "ga4")
    with pytest.raises(RunRefused, match="only pushes"):
        await run_pull(hub, push_only, "manual")
    await integrations.disconnect(hub, push_only)
    integration = await integrations.setup_manual(
        hub,
        1,
        "ga4",
        {
            "measurement_id": DEMO_MEASUREMENT_ID,
            "api_secret": DEMO_API_SECRET,
            "property_id": DEMO_PROPERTY_ID,
            "service_account_json": _service_account_key(),
        },
    )
    first = await run_pull(hub, integration.id, "manual")
    assert first.status == "success", first.error
    assert first.read > 0 and _count(integration.id, level="campaign") == first.read
    again = await run_pull(hub, integration.id, "manual")
    assert again.status == "success" and again.inserted == 0 and _duplicates(integration.id) == 0


def _service_account_key() -> str:
    """A service-account key file from a locally generated RSA key (the client self-signs JWTs)."""
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
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


async def test_two_integrations_pull_at_the_same_time_with_exact_counts(hub, small):
    import asyncio

    google = await connected_integration(hub, "google_ads")
    meta = await connected_integration(hub, "meta_ads")
    first, second = await asyncio.gather(run_pull(hub, google, "manual"), run_pull(hub, meta, "manual"))
    for iid, summary in ((google, first), (meta, second)):
        assert summary.status == "success", summary.error
        assert summary.inserted == summary.read == _count(iid) and summary.updated == 0
