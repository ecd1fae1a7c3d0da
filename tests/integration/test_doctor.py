"""`doctor` / Check set-up against the sandbox: all green, then each fault a self-hoster can meet, injected."""

from __future__ import annotations

import dataclasses

import pytest

from routy_app.db import session_scope
from routy_app.models import Integration
from routy_app.providers.google_ads.oauth import ADWORDS_SCOPE
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.google import ads_data as gd
from routy_app.services import doctor, integrations, mappings
from routy_app.services.hub import ProviderHub
from tests.integration.consent import consent
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture
from tests.integration.test_ga4_setup import sa_json  # noqa: F401 - fixture (a locally generated key)

US, DE = "1234567890", "5550000001"


def by_name(report: doctor.IntegrationReport) -> dict[str, doctor.CheckResult]:
    return {c.name: c for c in report.checks}


async def _google(hub: ProviderHub, account: str = US) -> int:
    integration_id = await connected_integration(hub, "google_ads", account)
    crm = next(a for a in gd.conversion_actions(42, account) if a["conversion_action.type"] == "UPLOAD_CLICKS")
    await mappings.save_mapping(hub, integration_id, "sale", str(crm["conversion_action.id"]), "CRM", {})
    return integration_id


async def test_a_good_set_up_checks_out(hub: ProviderHub) -> None:
    google = await _google(hub)
    meta = await connected_integration(hub, "meta_ads")
    await connected_integration(hub, "ga4")
    report = await doctor.run(hub)
    assert report.ok, "\n".join(report.lines())
    assert [c.name for c in report.integrations[0].checks] == [
        "Token and scopes",
        "API version",
        "Google Ads API",
        "Account",
        "Data Manager API",
        "Conversion actions",
    ]
    assert {c.status for i in report.integrations for c in i.checks} <= {"ok", "warn", "skip"}
    checks = by_name(await doctor.check_integration(hub, google))
    assert checks["Conversion actions"].status == "ok" and "CRM purchase" in checks["Conversion actions"].message
    assert by_name(await doctor.check_integration(hub, meta))["Pixels (datasets)"].status == "ok"
    text = "\n".join(report.lines())
    assert "Google Ads · Routy Shop US (1234567890)" in text and "Everything checks out" in text


async def test_google_ads_api_not_enabled_on_the_cloud_project(hub: ProviderHub, sandbox_state: SandboxState) -> None:
    integration_id = await _google(hub)
    sandbox_state.faults.add("google_ads.list_customers", "service_disabled", project="424242")
    check = by_name(await doctor.check_integration(hub, integration_id))["Google Ads API"]
    assert check.status == "fail" and "SERVICE_DISABLED" in check.message
    assert "has not been used in project 424242" in check.message  # Google's own text, with its link
    assert "Enable the Google Ads API in the Google Cloud console" in check.fix
    with session_scope() as session:  # a check changes nothing
        assert session.get(Integration, integration_id).status == "active"


async def test_data_manager_api_not_enabled(hub: ProviderHub, sandbox_state: SandboxState) -> None:
    integration_id = await _google(hub)
    sandbox_state.faults.add("datamanager.status", "service_disabled")
    checks = by_name(await doctor.check_integration(hub, integration_id))
    assert checks["Google Ads API"].status == "ok"
    assert (
        checks["Data Manager API"].status == "fail"
        and "Data Manager API has not been used" in checks["Data Manager API"].message
    )
    assert "Enable the Data Manager API" in checks["Data Manager API"].fix


async def test_account_not_readable_through_the_manager(hub: ProviderHub, sandbox_state: SandboxState) -> None:
    integration_id = await _google(hub, DE)
    sandbox_state.faults.add("google_ads.search_stream", "wrong_login_customer")
    check = by_name(await doctor.check_integration(hub, integration_id))["Account"]
    assert check.status == "fail" and "USER_PERMISSION_DENIED" in check.message
    assert f"cannot reach customer {DE} directly or through manager {gd.MANAGER_ID}" in check.fix


async def test_revoked_grant(hub: ProviderHub, sandbox_state: SandboxState) -> None:
    integration_id = await _google(hub)
    sandbox_state.faults.add("google.token", "revoked_refresh")
    checks = by_name(await doctor.check_integration(hub, integration_id))
    assert checks["Token and scopes"].status == "fail" and "invalid_grant" in checks["Token and scopes"].message
    assert "Reconnect Google Ads" in checks["Token and scopes"].fix
    assert checks["Google Ads API"].status == checks["Data Manager API"].status == "skip"


async def test_a_grant_without_the_datamanager_scope(hub: ProviderHub, sandbox_state: SandboxState) -> None:
    """The user later removed Routy's Data Manager permission in their Google Account: adwords only."""
    integration_id = await _google(hub)
    narrow = sandbox_state.tokens.issue("google", "refresh", None, ADWORDS_SCOPE, prefix="1//sandbox-")
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        creds = integrations.load_credentials(integration)
        integrations.save_credentials(
            integration, dataclasses.replace(creds, refresh_token=narrow.value, access_token="", scope=ADWORDS_SCOPE)
        )
        session.add(integration)
        session.commit()
    checks = by_name(await doctor.check_integration(hub, integration_id))
    assert checks["Token and scopes"].status == "fail" and "datamanager" in checks["Token and scopes"].message
    assert (
        checks["Data Manager API"].status == "fail"
        and "ACCESS_TOKEN_SCOPE_INSUFFICIENT" in checks["Data Manager API"].message
    )
    assert checks["Google Ads API"].status == "ok"


async def test_a_mapping_whose_action_is_not_a_valid_destination(hub: ProviderHub) -> None:
    """A mapping saved before the destination rules (here: to the manager's cross-account action)."""
    integration_id = await connected_integration(hub, "google_ads", DE)
    shared = next(
        a
        for a in gd.conversion_actions(42, DE)
        if a["conversion_action.owner_customer"] == f"customers/{gd.MANAGER_ID}"
    )
    mappings.add_mapping(integration_id, "sale", str(shared["conversion_action.id"]), "Agency", {})
    mappings.add_mapping(integration_id, "lead", "999999999", "Removed", {})
    check = by_name(await doctor.check_integration(hub, integration_id))["Conversion actions"]
    assert check.status == "fail"
    assert f"'sale': 'Agency CRM purchase (cross-account)' belongs to customer {gd.MANAGER_ID}" in check.message
    assert "'lead' maps to action 999999999, which is gone" in check.message


async def test_a_sunset_api_version(hub: ProviderHub, monkeypatch) -> None:
    from routy_app.config import reload_settings

    integration_id = await _google(hub)
    monkeypatch.setenv("GOOGLE_ADS_API_VERSION", "v22")
    settings = reload_settings()
    old = ProviderHub(settings, hub.http, hub.public_url, hub.retry, "http://sandbox.test/sandbox")
    report = await doctor.run(old)
    assert not report.ok
    assert report.configuration[0].status == "fail" and "2026-10-07" in report.configuration[0].message
    checks = by_name(report.integrations[0])
    assert checks["API version"].status == "fail"
    assert checks["Google Ads API"].status == "fail" and "UNSUPPORTED_VERSION" in checks["Google Ads API"].message
    assert integration_id


async def test_meta_without_ads_management(hub: ProviderHub) -> None:
    url = await integrations.start_oauth(hub, 1, "meta_ads")
    outcome = await integrations.complete_oauth(
        hub, "meta_ads", await consent(hub.http, url, "allow", untick=("ads_management",))
    )
    choices = await integrations.list_account_choices(hub, outcome.integration_id)
    await integrations.select_account(hub, outcome.integration_id, choices[0].id)
    check = by_name(await doctor.check_integration(hub, outcome.integration_id))["Token and permissions"]
    assert check.status == "fail" and "not granted: ads_management" in check.message
    assert "ads_management is needed to send conversions" in check.fix


@pytest.mark.parametrize(
    "operation, check_name", [("meta.pixels", "Pixels (datasets)"), ("meta.account", "Ad account")]
)
async def test_meta_access_refused(
    hub: ProviderHub, sandbox_state: SandboxState, operation: str, check_name: str
) -> None:
    integration_id = await connected_integration(hub, "meta_ads")
    sandbox_state.faults.add(operation, "permission_denied")
    check = by_name(await doctor.check_integration(hub, integration_id))[check_name]
    assert check.status == "fail" and "(#200)" in check.message and "Business Settings" in check.fix


async def test_meta_expired_token(hub: ProviderHub, sandbox_state: SandboxState) -> None:
    integration_id = await connected_integration(hub, "meta_ads")
    sandbox_state.faults.add("meta.debug_token", "expired_token")
    checks = by_name(await doctor.check_integration(hub, integration_id))
    assert (
        checks["Token and permissions"].status == "fail"
        and "Session has expired" in checks["Token and permissions"].message
    )
    assert checks["Ad account"].status == "skip"


async def test_ga4_property_access_and_stream(hub: ProviderHub, sandbox_state: SandboxState, sa_json: str) -> None:
    integration = await integrations.setup_manual(
        hub,
        1,
        "ga4",
        {
            "measurement_id": "G-ROUTY12345",
            "api_secret": "sandbox-mp-secret",
            "property_id": "123456789",
            "service_account_json": sa_json,
        },
    )
    assert all(c.status == "ok" for c in (await doctor.check_integration(hub, integration.id)).checks)
    sandbox_state.faults.add("ga4.run_report", "permission_denied")
    sandbox_state.faults.add("ga4.debug_collect", "validation_messages")
    checks = by_name(await doctor.check_integration(hub, integration.id))
    assert checks["Data API property access"].status == "fail"
    assert "User does not have sufficient permissions" in checks["Data API property access"].message
    assert "Viewer" in checks["Data API property access"].fix
    assert checks["Stream (validation server)"].status == "fail"


async def test_ga4_measurement_id_format(hub: ProviderHub) -> None:
    integration_id = await connected_integration(hub, "ga4")
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        creds = integrations.load_credentials(integration)
        integrations.save_credentials(
            integration, dataclasses.replace(creds, extra={**creds.extra, "measurement_id": "UA-12345-1"})
        )
        session.add(integration)
        session.commit()
    (check,) = (await doctor.check_integration(hub, integration_id)).checks
    assert check.name == "Measurement ID" and check.status == "fail" and "G-" in check.message


async def test_the_cli_prints_one_line_per_check_and_fails_with_status_1(
    hub: ProviderHub,
    sandbox_state: SandboxState,
    monkeypatch,
    capsys,
) -> None:
    """`python -m routy_app doctor` end to end (its own event loop and HTTP client, as from a shell)."""
    import asyncio

    import httpx

    from routy_app.__main__ import main
    from routy_app.sandbox.app import mounted_sandbox

    await _google(hub)

    def sandbox_hub(cls, settings=None) -> ProviderHub:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=mounted_sandbox(sandbox_state)), base_url="http://sandbox.test"
        )
        return ProviderHub(hub.settings, client, hub.public_url, hub.retry)

    monkeypatch.setattr(ProviderHub, "from_settings", classmethod(sandbox_hub))
    assert await asyncio.to_thread(main, ["doctor"]) == 0
    out = capsys.readouterr().out
    assert "[ok  ] Data Manager API" in out and "Everything checks out." in out
    sandbox_state.faults.add("datamanager.status", "service_disabled")
    assert await asyncio.to_thread(main, ["doctor"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] Data Manager API" in out and "→ Enable the Data Manager API" in out and "1 check(s) failed" in out
