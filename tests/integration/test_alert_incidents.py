"""Alerts: incidents open once, repeat at most daily, resolve when the problem clears (services/alerts)
against real integrations connected through the in-process sandbox, with a clock the test controls."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from routy_app.config import reload_settings
from routy_app.db import session_scope
from routy_app.models import (
    Conversion,
    ConversionMapping,
    ConversionPush,
    Incident,
    Integration,
    IntegrationStatus,
    SyncRun,
)
from routy_app.services import integrations
from routy_app.services.alerts import job, kinds, rules
from routy_app.services.alerts.delivery import deliver_due
from routy_app.services.alerts.evaluator import evaluate
from tests.integration.alert_fixtures import (  # noqa: F401
    clock,
    deliveries,
    email_channel,
    http_receiver,
    incidents,
    smtp_receiver,
    transport,
    webhook_channel,
)
from tests.integration.consent import consent
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture

PUBLIC = "http://sandbox.test"


def _revoke_google(sandbox_state) -> None:
    for value in sandbox_state.tokens.all_values():
        token = sandbox_state.tokens.get(value)
        if token and token.provider == "google":
            sandbox_state.tokens.revoke(value)


async def _reconnect(hub, integration_id: int, provider: str = "google_ads") -> None:
    url = await integrations.start_oauth(hub, 1, provider, reconnect_integration_id=integration_id)
    outcome = await integrations.complete_oauth(hub, provider, await consent(hub.http, url, "allow"))
    assert outcome.ok, outcome.message


def _set(integration_id: int, **values) -> None:
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        for name, value in values.items():
            setattr(integration, name, value)
        session.add(integration)
        session.commit()


def _watch_only(kind: str, source_id: int = 1) -> None:
    """Turn every other alert kind off for the source (days pass in these tests: pulls would be overdue)."""
    with session_scope() as session:
        rules.save_rules(
            session, source_id, {k.key: rules.Rule(k.key, k.key == kind, k.defaults()) for k in kinds.KINDS}
        )


def _only(kind: str, status: str = "open") -> Incident:
    found = [i for i in incidents(status) if i.kind == kind]
    assert len(found) == 1, [(i.kind, i.title) for i in incidents()]
    return found[0]


async def test_reconnection_required_alerts_once_reminds_daily_and_resolves_on_reconnect(
    hub, sandbox_state, clock, transport, smtp_receiver, http_receiver
):
    email_channel(smtp_receiver)
    webhook_channel(http_receiver)
    google = await connected_integration(hub, "google_ads")
    _set(google, schedule_minutes=1440)  # a daily pull: not overdue within this test's two days
    assert evaluate(clock()).opened == 0

    _revoke_google(sandbox_state)
    outcome = await integrations.check_connection(hub, google)
    assert not outcome.ok and "expired or revoked" in outcome.message
    first = evaluate(clock())
    assert (first.opened, first.notices) == (1, 2)
    incident = _only(kinds.INTEGRATION_ERROR)
    assert incident.title == "Google Ads needs reconnection · Default traffic source"
    assert "Token has been expired or revoked" in incident.detail and "Reconnect" in incident.detail
    sent = await deliver_due(transport, PUBLIC, now=clock())
    assert sent.sent == 2
    mail = smtp_receiver.mails.wait_for(lambda m: len(m) == 1)[0]
    assert mail.message["Subject"] == "[Routy] Opened: Google Ads needs reconnection · Default traffic source"
    hook = http_receiver.requests.wait_for(lambda r: len(r) == 1)[0]
    assert json.loads(hook.body)["type"] == "incident.opened"

    # Found again every minute for a day: no new notice; the incident's last-seen time moves.
    for _ in range(3):
        clock.advance(minutes=1)
        assert evaluate(clock()).notices == 0
        assert (await deliver_due(transport, PUBLIC, now=clock())).sent == 0
    assert _only(kinds.INTEGRATION_ERROR).last_seen_at == clock()
    clock.advance(hours=24)
    reminder = evaluate(clock())
    assert (reminder.reminded, reminder.notices) == (1, 2)
    await deliver_due(transport, PUBLIC, now=clock())
    mails = smtp_receiver.mails.wait_for(lambda m: len(m) == 2)
    assert mails[1].message["Subject"].startswith("[Routy] Still open: Google Ads needs reconnection")
    assert mails[1].message["In-Reply-To"] == mails[0].message["Message-ID"]  # one thread per incident
    clock.advance(hours=1)
    assert evaluate(clock()).notices == 0  # the next reminder is a day after this one

    await _reconnect(hub, google)
    clock.advance(minutes=1)
    resolved = evaluate(clock())
    assert (resolved.resolved, resolved.notices) == (1, 2)
    await deliver_due(transport, PUBLIC, now=clock())
    mails = smtp_receiver.mails.wait_for(lambda m: len(m) == 3)
    assert mails[2].message["Subject"] == "[Routy] Resolved: Google Ads needs reconnection · Default traffic source"
    assert "Google Ads is Active again." in mails[2].message.get_content()
    hooks = http_receiver.requests.wait_for(lambda r: len(r) == 3)
    assert [json.loads(h.body)["type"] for h in hooks] == ["incident.opened", "incident.reminder", "incident.resolved"]
    assert len({json.loads(h.body)["id"] for h in hooks}) == 3
    clock.advance(minutes=5)
    assert evaluate(clock()).notices == 0 and incidents("open") == []
    assert len(incidents()) == 1


async def test_needs_attention_and_reconnection_are_one_incident(hub, clock):
    google = await connected_integration(hub, "google_ads")
    _set(google, status=IntegrationStatus.NEEDS_ATTENTION, consecutive_failures=3, last_error="HTTP 503")
    evaluate(clock())
    assert _only(kinds.INTEGRATION_ERROR).title.startswith("Google Ads needs attention")
    _set(google, status=IntegrationStatus.RECONNECT_REQUIRED)
    summary = evaluate(clock.advance(minutes=1))
    assert summary.opened == 0 and summary.notices == 0
    assert _only(kinds.INTEGRATION_ERROR).title.startswith("Google Ads needs reconnection")


async def test_a_disconnected_integration_resolves_its_incidents(hub, clock):
    google = await connected_integration(hub, "google_ads")
    _set(google, status=IntegrationStatus.RECONNECT_REQUIRED)
    evaluate(clock())
    await integrations.disconnect(hub, google)
    assert evaluate(clock.advance(minutes=1)).resolved == 1
    assert _only(kinds.INTEGRATION_ERROR, "resolved").resolution == "The integration was disconnected."


async def test_alerts_turned_off_for_a_source_open_nothing_and_close_open_ones_silently(hub, clock, http_receiver):
    webhook_channel(http_receiver)
    google = await connected_integration(hub, "google_ads")
    _set(google, status=IntegrationStatus.RECONNECT_REQUIRED)
    assert evaluate(clock()).opened == 1
    with session_scope() as session:
        chosen = rules.rules_for_source(session, 1)
        chosen[kinds.INTEGRATION_ERROR] = rules.Rule(kinds.INTEGRATION_ERROR, False)
        rules.save_rules(session, 1, chosen)
    summary = evaluate(clock.advance(minutes=1))
    assert (summary.resolved, summary.notices) == (1, 0)
    assert _only(kinds.INTEGRATION_ERROR, "resolved").resolution.startswith("The alert was turned off")
    assert evaluate(clock.advance(minutes=1)).opened == 0


# ---------------------------------------------------------------- expiring access, driven by the sandbox's lifetimes


async def test_google_consent_of_a_testing_app_alerts_before_it_ends_and_clears_on_reconnect(hub, sandbox_state, clock):
    _watch_only(kinds.ACCESS_EXPIRING)
    sandbox_state.config.google_refresh_token_lifetime = 30 * 86_400  # a consent Google ends after 30 days
    google = await connected_integration(hub, "google_ads")
    with session_scope() as session:
        integration = session.get(Integration, google)
        ends, granted = integration.access_expires_at, integration.authorized_at
    assert abs((ends - granted) - dt.timedelta(days=30)) < dt.timedelta(seconds=5)
    assert evaluate(clock()).opened == 0
    assert evaluate(clock.advance(days=22, hours=12)).opened == 0  # 7.5 days left
    assert evaluate(clock.advance(days=1)).opened == 1  # 6.5 days left
    incident = _only(kinds.ACCESS_EXPIRING)
    assert incident.title == "Google Ads access ends in 6 days · Default traffic source"
    assert "Testing" in incident.detail and "Publish the app" in incident.detail

    sandbox_state.config.google_refresh_token_lifetime = None  # the app was published ("In production")
    await _reconnect(hub, google)  # ... and reconnected: this consent does not end by itself
    assert evaluate(clock.advance(minutes=1)).resolved == 1
    assert _only(kinds.ACCESS_EXPIRING, "resolved").resolution.startswith("Access was renewed")


async def test_google_testing_app_consent_is_always_within_the_week(hub, sandbox_state, clock):
    sandbox_state.config.google_refresh_token_lifetime = 604_799  # what Google answers for a "Testing" app
    await connected_integration(hub, "google_ads")
    evaluate(clock())
    assert _only(kinds.ACCESS_EXPIRING).title == "Google Ads access ends in 6 days · Default traffic source"


async def test_refresh_keeps_the_grant_end_and_an_ended_grant_means_reconnect(hub, sandbox_state, clock):
    sandbox_state.config.google_refresh_token_lifetime = 604_799
    google = await connected_integration(hub, "google_ads")
    with session_scope() as session:
        ends = session.get(Integration, google).access_expires_at
    for value in sandbox_state.tokens.all_values():  # the access token expires: Routy refreshes it
        token = sandbox_state.tokens.get(value)
        if token.kind == "access":
            sandbox_state.tokens.expire(value)
    assert (await integrations.check_connection(hub, google)).ok
    with session_scope() as session:
        assert session.get(Integration, google).access_expires_at == ends


async def test_meta_long_lived_token_alerts_a_week_before_its_60_days_end(hub, sandbox_state, clock):
    _watch_only(kinds.ACCESS_EXPIRING)
    assert sandbox_state.config.meta_long_lived_lifetime == 5_184_000
    meta = await connected_integration(hub, "meta_ads")
    assert evaluate(clock.advance(days=52)).opened == 0  # 8 days left
    assert evaluate(clock.advance(days=2)).opened == 1  # 6 days left
    incident = _only(kinds.ACCESS_EXPIRING)
    assert incident.title == "Meta Ads (Facebook Ads) access ends in 6 days · Default traffic source"
    assert "cannot be refreshed" in incident.detail
    _set(meta, status=IntegrationStatus.PAUSED)  # a paused integration's token still runs out
    assert evaluate(clock.advance(minutes=1)).resolved == 0
    assert evaluate(clock.advance(days=7)).opened == 0
    assert _only(kinds.ACCESS_EXPIRING).title.startswith("Meta Ads (Facebook Ads) access has ended")


# ---------------------------------------------------------------- API version sunsets (the versions table + clock)


async def test_configured_api_version_sunsetting_within_30_days_alerts(hub, clock, monkeypatch):
    _watch_only(kinds.API_SUNSET)
    await connected_integration(hub, "google_ads")
    await connected_integration(hub, "meta_ads")
    clock.now = dt.datetime(2027, 9, 20, 12, tzinfo=dt.UTC)  # v26: projected sunset about November 2027
    assert evaluate(clock()).opened == 0
    clock.now = dt.datetime(2027, 10, 5, 12, tzinfo=dt.UTC)
    assert evaluate(clock()).opened == 1
    incident = _only(kinds.API_SUNSET)
    assert incident.title == "Google Ads API v26 sunsets about November 2027 · Default traffic source"
    assert "in 27 days" in incident.detail

    monkeypatch.setenv("META_API_VERSION", "v25.0")  # sunsets 2027-02-23
    reload_settings()
    clock.now = dt.datetime(2027, 2, 1, tzinfo=dt.UTC)
    summary = evaluate(clock())
    assert summary.opened == 1 and summary.resolved == 1  # Meta's opens; Google's (not near in February) clears
    assert _only(kinds.API_SUNSET).title == "Meta Marketing API v25.0 sunsets 2027-02-23 · Default traffic source"


# ---------------------------------------------------------------- push rejections, outbox lag, overdue syncs


def _push_run(integration_id: int, at: dt.datetime, sent: int, failed: int) -> None:
    with session_scope() as session:
        session.add(
            SyncRun(
                integration_id=integration_id,
                kind="push",
                trigger="schedule",
                status="partial",
                started_at=at,
                finished_at=at,
                records_read=sent + failed,
                records_inserted=sent,
                records_failed=failed,
            )
        )
        session.commit()


@pytest.mark.parametrize(
    "sent, failed, alerts", [(95, 5, False), (94, 6, True), (9, 1, False), (2000, 51, True), (2000, 50, False)]
)
async def test_push_rejections_over_the_hour_threshold(hub, clock, sent, failed, alerts):
    google = await connected_integration(hub, "google_ads")
    _push_run(google, clock() - dt.timedelta(minutes=10), sent, failed)
    assert evaluate(clock()).opened == int(alerts)
    if alerts:
        assert _only(kinds.PUSH_REJECTIONS).title.startswith(f"Google Ads rejected {failed:,} of {sent + failed:,}")
        assert evaluate(clock.advance(minutes=55)).resolved == 1  # the run left the hour


async def test_oldest_due_conversion_waiting_too_long_alerts_unless_paused(hub, clock):
    google = await connected_integration(hub, "google_ads")
    with session_scope() as session:
        conversion = Conversion(
            traffic_source_id=1, external_id="c-1", event_type="purchase", occurred_at=clock(), gclid="gclid-1"
        )
        mapping = ConversionMapping(
            integration_id=google, event_type="purchase", action_id="customers/1/conversionActions/2"
        )
        session.add(conversion)
        session.add(mapping)
        session.flush()
        session.add(
            ConversionPush(
                integration_id=google,
                conversion_id=conversion.id,
                mapping_id=mapping.id,
                next_attempt_at=clock() - dt.timedelta(minutes=25),
            )
        )
        session.commit()
    assert evaluate(clock()).opened == 0
    assert evaluate(clock.advance(minutes=6)).opened == 1
    assert "waiting to be pushed" in _only(kinds.OUTBOX_LAG).title
    _set(google, status=IntegrationStatus.PAUSED)
    assert evaluate(clock.advance(minutes=1)).resolved == 1


async def test_sync_not_succeeding_for_twice_its_schedule_alerts_until_a_pull_succeeds(hub, clock):
    google = await connected_integration(hub, "google_ads")
    _set(google, schedule_minutes=60)
    assert evaluate(clock.advance(minutes=119)).opened == 0
    assert evaluate(clock.advance(minutes=2)).opened == 1
    assert _only(kinds.SYNC_STALE).title.startswith("Google Ads metrics not pulled for 2 h")
    with session_scope() as session:
        session.add(
            SyncRun(
                integration_id=google,
                kind="pull",
                trigger="schedule",
                status="success",
                started_at=clock(),
                finished_at=clock(),
            )
        )
        session.commit()
    assert evaluate(clock.advance(minutes=1)).resolved == 1


# ------------------------------------------------ one open incident per problem, status changes wake the job


def test_the_database_refuses_a_second_open_incident_for_one_problem(db):
    with session_scope() as session:
        session.add(Incident(key="integration_error:1", kind="integration_error", title="a", status="resolved"))
        session.add(Incident(key="integration_error:1", kind="integration_error", title="b", status="open"))
        session.commit()
        session.add(Incident(key="integration_error:1", kind="integration_error", title="c", status="open"))
        with pytest.raises(IntegrityError):
            session.commit()


async def test_a_racing_evaluator_does_not_open_a_twin(hub, clock):
    google = await connected_integration(hub, "google_ads")
    _set(google, status=IntegrationStatus.RECONNECT_REQUIRED)
    from routy_app.services.alerts import incidents as incidents_module

    real_select = incidents_module.select

    def blind_select(*args):  # this evaluator read the open incidents before the other one committed
        statement = real_select(*args)
        return statement.where(Incident.id < 0) if args == (Incident,) else statement

    evaluate(clock())
    incidents_module.select = blind_select
    try:
        assert evaluate(clock.advance(minutes=1)).opened == 0
    finally:
        incidents_module.select = real_select
    assert len(incidents("open")) == 1


async def test_a_status_change_wakes_the_alerts_job_at_once(hub, monkeypatch):
    google = await connected_integration(hub, "google_ads")
    woken: list[str] = []

    class Leader:
        def run_job_soon(self, job_id: str) -> bool:
            woken.append(job_id)
            return True

    monkeypatch.setattr(job.scheduler, "current_scheduler", lambda: Leader())
    job.install()
    integrations.record_success(google)  # no status change: nothing to wake
    assert woken == []
    integrations.mark_auth_failed(google, "invalid_grant")
    assert woken == [job.JOB_ID]
    with session_scope() as session:
        assert session.exec(select(Integration.status).where(Integration.id == google)).one() == "reconnect_required"


async def test_google_oauth_testing_setting_covers_a_token_answer_without_the_grant_end(
    db, google_endpoints, sandbox_http, sandbox_state
):
    """GOOGLE_OAUTH_TESTING=true: 7 days from consent when Google's answer lacks refresh_token_expires_in."""
    import dataclasses

    from routy_app.providers.google_ads.adapter import GoogleAdsProvider
    from tests.integration.conftest import FAST_RETRY
    from tests.integration.factories import GOOGLE_REDIRECT, authorize

    assert sandbox_state.config.google_refresh_token_lifetime is None  # the sandbox does not say
    plain = await authorize(
        GoogleAdsProvider(google_endpoints, sandbox_http, retry=FAST_RETRY), sandbox_http, GOOGLE_REDIRECT
    )
    assert plain.grant_expires_at is None and plain.access_ends_at is None and plain.granted_at is not None
    testing = GoogleAdsProvider(
        dataclasses.replace(google_endpoints, oauth_testing=True), sandbox_http, retry=FAST_RETRY
    )
    creds = await authorize(testing, sandbox_http, GOOGLE_REDIRECT)
    assert creds.grant_expires_at - creds.granted_at == dt.timedelta(days=7)
    refreshed = await testing.refresh(creds)
    assert (refreshed.granted_at, refreshed.grant_expires_at) == (creds.granted_at, creds.grant_expires_at)


async def test_an_ended_google_consent_means_reconnection_required(hub, sandbox_state, clock):
    sandbox_state.config.google_refresh_token_lifetime = 604_799
    google = await connected_integration(hub, "google_ads")
    for value in sandbox_state.tokens.all_values():  # a week later: Google refuses the refresh token
        sandbox_state.tokens.expire(value)
    outcome = await integrations.check_connection(hub, google)
    assert not outcome.ok and "Token has been expired or revoked" in outcome.message
    evaluate(clock())
    assert _only(kinds.INTEGRATION_ERROR).title.startswith("Google Ads needs reconnection")


async def test_a_status_change_during_a_run_makes_the_job_run_once_more(monkeypatch):
    runs = []

    async def fake_run_once(transport=None, now=None):
        runs.append(len(runs))
        if len(runs) == 1:
            job.kick()  # committed while the job was evaluating: it must not wait a minute

    monkeypatch.setattr(job, "run_once", fake_run_once)
    monkeypatch.setattr(job.scheduler, "current_scheduler", lambda: None)
    await job._tick()
    assert runs == [0, 1]
    await job._tick()
    assert runs == [0, 1, 2]
