"""The connection state machine (services/integrations/) against the sandbox in-process."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus, MetricRow, OAuthState, SyncRun
from routy_app.services import integrations
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations import ConnectionProblem
from routy_app.timeutil import utcnow
from tests.integration.consent import consent
from tests.integration.factories import hub  # noqa: F401 - fixture


async def _connect(hub: ProviderHub, provider: str = "google_ads") -> int:
    url = await integrations.start_oauth(hub, 1, provider)
    params = await consent(hub.http, url, "allow")
    outcome = await integrations.complete_oauth(hub, provider, params)
    assert outcome.ok, outcome.message
    return outcome.integration_id


def _integration(integration_id: int) -> Integration:
    with session_scope() as session:
        return session.get(Integration, integration_id)


@pytest.mark.parametrize("provider", ["google_ads", "meta_ads"])
async def test_connect_then_pick_an_account_makes_it_active(hub, provider):
    integration_id = await _connect(hub, provider)
    assert _integration(integration_id).status == IntegrationStatus.PENDING_ACCOUNT
    choices = await integrations.list_account_choices(hub, integration_id)
    pick = next(c for c in choices if c.selectable)
    await integrations.select_account(hub, integration_id, pick.id)
    integration = _integration(integration_id)
    assert integration.status == IntegrationStatus.ACTIVE
    assert (integration.account_id, integration.account_currency) == (pick.id, pick.currency)
    assert "access_token" not in (integration.credentials_enc or "")


async def test_google_manager_lists_its_clients_and_is_not_selectable(hub):
    integration_id = await _connect(hub)
    choices = await integrations.list_account_choices(hub, integration_id)
    manager = next(c for c in choices if c.manager)
    clients = [c for c in choices if c.parent_id == manager.id]
    assert len(clients) == 2 and not manager.selectable
    assert choices.index(clients[0]) == choices.index(manager) + 1
    with pytest.raises(ConnectionProblem, match="manager"):
        await integrations.select_account(hub, integration_id, manager.id)
    await integrations.select_account(hub, integration_id, clients[0].id)
    assert _integration(integration_id).login_customer_id == manager.id


async def test_meta_token_is_exchanged_for_a_long_lived_one(hub):
    integration_id = await _connect(hub, "meta_ads")
    expires = _integration(integration_id).token_expires_at
    assert expires - utcnow() > dt.timedelta(days=50)


async def test_deny_creates_nothing_and_says_so(hub):
    url = await integrations.start_oauth(hub, 1, "google_ads")
    params = await consent(hub.http, url, "deny")
    outcome = await integrations.complete_oauth(hub, "google_ads", params)
    assert not outcome.ok and "declined" in outcome.message and outcome.source_id == 1
    with session_scope() as session:
        assert session.exec(select(Integration)).all() == []


async def test_state_is_single_use(hub):
    url = await integrations.start_oauth(hub, 1, "google_ads")
    params = await consent(hub.http, url, "allow")
    assert (await integrations.complete_oauth(hub, "google_ads", params)).ok
    again = await integrations.complete_oauth(hub, "google_ads", params)
    assert not again.ok and "already used" in again.message


async def test_expired_state_is_refused(hub):
    url = await integrations.start_oauth(hub, 1, "google_ads")
    params = await consent(hub.http, url, "allow")
    with session_scope() as session:
        row = session.exec(select(OAuthState)).one()
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
        session.add(row)
        session.commit()
    outcome = await integrations.complete_oauth(hub, "google_ads", params)
    assert not outcome.ok and "expired" in outcome.message
    with session_scope() as session:
        assert session.exec(select(Integration)).all() == []


async def test_state_from_another_session_is_refused(hub):
    url = await integrations.start_oauth(hub, 1, "google_ads", session_id="session-a")
    params = await consent(hub.http, url, "allow")
    outcome = await integrations.complete_oauth(hub, "google_ads", params, session_id="session-b")
    assert not outcome.ok and "another browser session" in outcome.message


async def test_token_exchange_failure_is_reported_and_creates_nothing(hub, sandbox_state):
    url = await integrations.start_oauth(hub, 1, "google_ads")
    params = await consent(hub.http, url, "allow")
    params["code"] = "forged-code"
    outcome = await integrations.complete_oauth(hub, "google_ads", params)
    assert not outcome.ok and "token exchange" in outcome.message
    with session_scope() as session:
        assert session.exec(select(Integration)).all() == []


async def test_second_connect_is_refused(hub):
    await _connect(hub)
    with pytest.raises(ConnectionProblem, match="already connected"):
        await integrations.start_oauth(hub, 1, "google_ads")


async def test_revoked_refresh_token_means_reconnection_required_then_reconnect_keeps_settings(hub, sandbox_state):
    integration_id = await _connect(hub)
    choice = next(c for c in await integrations.list_account_choices(hub, integration_id) if c.selectable)
    await integrations.select_account(hub, integration_id, choice.id)
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        integration.schedule_minutes = 360
        integration.token_expires_at = utcnow()  # make the next call refresh first
        creds = integrations.load_credentials(integration)
        session.add(integration)
        session.add(SyncRun(integration_id=integration_id, kind="pull", trigger="manual", status="success"))
        session.commit()
    sandbox_state.tokens.revoke(creds.refresh_token)
    outcome = await integrations.check_connection(hub, integration_id)
    assert not outcome.ok and "expired or revoked" in outcome.message
    assert _integration(integration_id).status == IntegrationStatus.RECONNECT_REQUIRED

    url = await integrations.start_oauth(hub, 1, "google_ads", reconnect_integration_id=integration_id)
    outcome = await integrations.complete_oauth(hub, "google_ads", await consent(hub.http, url, "allow"))
    assert outcome.ok and outcome.integration_id == integration_id
    integration = _integration(integration_id)
    assert integration.status == IntegrationStatus.ACTIVE
    assert integration.schedule_minutes == 360 and integration.account_id == choice.id
    with session_scope() as session:
        assert len(session.exec(select(SyncRun)).all()) == 1  # history kept
    assert (await integrations.check_connection(hub, integration_id)).ok


async def test_meta_code_190_means_reconnection_required(hub, sandbox_state):
    integration_id = await _connect(hub, "meta_ads")
    choice = next(c for c in await integrations.list_account_choices(hub, integration_id) if c.selectable)
    await integrations.select_account(hub, integration_id, choice.id)
    sandbox_state.faults.add("*", "expired_token")
    outcome = await integrations.check_connection(hub, integration_id)
    assert not outcome.ok
    assert _integration(integration_id).status == IntegrationStatus.RECONNECT_REQUIRED


async def test_test_connection_reports_provider_error_text_and_time(hub, sandbox_state):
    integration_id = await _connect(hub)
    choice = next(c for c in await integrations.list_account_choices(hub, integration_id) if c.selectable)
    await integrations.select_account(hub, integration_id, choice.id)
    ok = await integrations.check_connection(hub, integration_id)
    assert ok.ok and ok.elapsed_ms >= 0
    sandbox_state.faults.add("*", "wrong_login_customer")
    failed = await integrations.check_connection(hub, integration_id)
    assert not failed.ok and "permission" in failed.message.lower()
    assert _integration(integration_id).status == IntegrationStatus.ACTIVE


async def test_pause_resume_and_three_failures_need_attention(hub):
    integration_id = await _connect(hub)
    with pytest.raises(ConnectionProblem):
        integrations.set_paused(integration_id, True)  # still pending an account
    choice = next(c for c in await integrations.list_account_choices(hub, integration_id) if c.selectable)
    await integrations.select_account(hub, integration_id, choice.id)
    assert integrations.set_paused(integration_id, True).status == IntegrationStatus.PAUSED
    assert integrations.set_paused(integration_id, False).status == IntegrationStatus.ACTIVE
    for _ in range(2):
        integrations.record_failure(integration_id, "HTTP 500")
    assert _integration(integration_id).status == IntegrationStatus.ACTIVE
    integrations.record_failure(integration_id, "HTTP 503: backend unavailable")
    integration = _integration(integration_id)
    assert integration.status == IntegrationStatus.NEEDS_ATTENTION and integration.last_error.startswith("HTTP 503")
    integrations.record_success(integration_id)
    assert _integration(integration_id).status == IntegrationStatus.ACTIVE


async def test_disconnect_revokes_the_token_and_deletes_data(hub, sandbox_state):
    integration_id = await _connect(hub)
    with session_scope() as session:
        creds = integrations.load_credentials(session.get(Integration, integration_id))
        session.add(MetricRow(integration_id=integration_id, level="campaign", date=dt.date(2026, 1, 1)))
        session.commit()
    assert "(1 metric row, " in integrations.describe_removal(integration_id)
    message = await integrations.disconnect(hub, integration_id)
    assert "disconnected" in message
    assert sandbox_state.tokens.check(creds.access_token) == "revoked"
    with session_scope() as session:
        assert session.exec(select(Integration)).all() == [] and session.exec(select(MetricRow)).all() == []


async def test_ga4_manual_setup_validates_fields_and_saves_only_on_success(hub):
    with pytest.raises(ConnectionProblem) as bad:
        await integrations.setup_manual(hub, 1, "ga4", {"measurement_id": "UA-123", "api_secret": "x"})
    assert bad.value.field == "measurement_id"
    with session_scope() as session:
        assert session.exec(select(Integration)).all() == []
    integration = await integrations.setup_manual(
        hub, 1, "ga4", {"measurement_id": "G-ROUTY12345", "api_secret": "sandbox-mp-secret"}
    )
    assert integration.status == IntegrationStatus.ACTIVE and integration.account_id == "G-ROUTY12345"
    assert "sandbox-mp-secret" not in integration.credentials_enc


@pytest.mark.parametrize(
    ("provider", "required"),
    [
        ("ga4", {"measurement_id": "Measurement ID", "api_secret": "API secret"}),
        ("webhook", {"url_template": "URL", "method": "Method"}),
    ],
)
async def test_an_empty_set_up_form_is_told_every_missing_field_at_once(hub, provider, required):
    with pytest.raises(ConnectionProblem) as empty:
        await integrations.setup_manual(hub, 1, provider, {})
    assert empty.value.field_errors == {name: f"{label} is required." for name, label in required.items()}
    assert empty.value.field == next(iter(required))
    assert all(label in empty.value.message for label in required.values())
    with session_scope() as session:
        assert session.exec(select(Integration)).all() == []


async def test_expiring_tokens_are_refreshed_ahead_of_time(hub):
    integration_id = await _connect(hub)
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        before = integrations.load_credentials(integration).access_token
        integration.token_expires_at = utcnow() + dt.timedelta(minutes=2)
        session.add(integration)
        session.commit()
    assert await integrations.refresh_expiring_tokens(hub) == 1
    integration = _integration(integration_id)
    assert integrations.load_credentials(integration).access_token != before
    assert integration.token_expires_at - utcnow() > dt.timedelta(minutes=30)


async def test_disconnect_keeps_a_grant_another_source_may_share(hub, sandbox_state):
    from routy_app.db import session_scope as scope
    from routy_app.models import TrafficSource

    with scope() as session:
        session.add(TrafficSource(name="Second"))
        session.commit()
    first = await _connect(hub)
    url = await integrations.start_oauth(hub, 2, "google_ads")
    outcome = await integrations.complete_oauth(hub, "google_ads", await consent(hub.http, url, "allow"))
    second = outcome.integration_id
    with session_scope() as session:
        creds = integrations.load_credentials(session.get(Integration, first))
    message = await integrations.disconnect(hub, first)
    assert "not revoked" in message
    assert sandbox_state.tokens.check(creds.access_token) == "ok"
    message = await integrations.disconnect(hub, second)
    assert "not revoked" not in message


async def test_refresh_auth_keeps_a_paused_integration_paused(hub):
    integration_id = await _connect(hub)
    choice = next(c for c in await integrations.list_account_choices(hub, integration_id) if c.selectable)
    await integrations.select_account(hub, integration_id, choice.id)
    integrations.set_paused(integration_id, True)
    url = await integrations.start_oauth(hub, 1, "google_ads", reconnect_integration_id=integration_id)
    assert (await integrations.complete_oauth(hub, "google_ads", await consent(hub.http, url, "allow"))).ok
    assert _integration(integration_id).status == IntegrationStatus.PAUSED
