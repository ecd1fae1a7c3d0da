"""Pulling GA4 metrics with the official google-analytics-data client against the Data API emulator."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from routy_app.providers.errors import AuthExpired, PermanentError, RateLimited, TransientError
from routy_app.providers.ga4.adapter import GA4Provider
from routy_app.providers.ga4.endpoints import GA4Endpoints
from routy_app.providers.values import Account, Credentials
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.ga4.streams import DEMO_API_SECRET, DEMO_MEASUREMENT_ID, DEMO_PROPERTY_ID
from tests.integration.conftest import FAST_RETRY

ACCOUNT = Account(id=DEMO_MEASUREMENT_ID, name="property", currency="USD", timezone="America/New_York")
START = dt.date.today() - dt.timedelta(days=400)
END = dt.date.today() + dt.timedelta(days=2)


@pytest.fixture(scope="module")
def creds() -> Credentials:
    """Pull credentials with a service-account key generated here (the client self-signs its JWT)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    sa = {
        "type": "service_account",
        "project_id": "routy-test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "routy@routy-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return Credentials(
        extra={
            "measurement_id": DEMO_MEASUREMENT_ID,
            "api_secret": DEMO_API_SECRET,
            "property_id": DEMO_PROPERTY_ID,
            "service_account_json": json.dumps(sa),
        }
    )


@pytest.fixture
def ga4(ga4_endpoints: GA4Endpoints, sandbox_http: httpx.AsyncClient) -> GA4Provider:
    return GA4Provider(ga4_endpoints, sandbox_http, retry=FAST_RETRY)


async def _pages(ga4: GA4Provider, creds: Credentials, start: dt.date = START, end: dt.date = END) -> list[list]:
    return [page async for page in ga4.fetch_metrics(creds, ACCOUNT, "campaign", start, end)]


async def test_fetch_pages_with_offset_and_returns_every_row_once(
    ga4: GA4Provider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sandbox_state.config.days = 60
    sandbox_state.config.campaigns_per_account = 70  # 60 days x 70 campaigns x 3 source/mediums = 12,600 rows
    pages = await _pages(ga4, creds)
    assert [len(p) for p in pages] == [10_000, 2_600]
    keys = [(r.date, r.campaign_id) for page in pages for r in page]
    assert len(keys) == len(set(keys)) == 12_600
    assert len({r.date for page in pages for r in page}) == 60
    first = pages[0][0]
    assert first.level == "campaign" and first.currency == "USD"
    assert first.campaign_id == f"{first.campaign_name}|{first.ad_group_name}"
    assert first.ad_group_name in {"google / cpc", "facebook / paid_social", "newsletter / email"}
    assert first.impressions == 0 and first.clicks > 0
    assert isinstance(first.conversion_value_micros, int) and first.conversion_value_micros % 10_000 == 0
    assert first.conversions_micros % 1_000_000 == 0


async def test_metrics_match_a_direct_report_of_the_same_row(
    ga4: GA4Provider, creds: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    """The adapter's micros are exactly the Data API's strings x 1e6 (no float drift)."""
    day = dt.date.today() - dt.timedelta(days=5)
    records = [r for page in await _pages(ga4, creds, day, day) for r in page]
    assert len(records) == 9  # 3 campaigns x 3 source/mediums, one day
    answer = await sandbox_http.post(
        f"/sandbox/analyticsdata/v1beta/properties/{DEMO_PROPERTY_ID}:runReport",
        headers={"Authorization": "Bearer a.eyJleHAiOiA5OTk5OTk5OTk5fQ.c"},
        json={
            "dateRanges": [{"startDate": day.isoformat(), "endDate": day.isoformat()}],
            "dimensions": [{"name": "date"}, {"name": "sessionCampaignName"}, {"name": "sessionSourceMedium"}],
            "metrics": [{"name": "sessions"}, {"name": "keyEvents"}, {"name": "totalRevenue"}],
        },
    )
    rows = answer.json()["rows"]
    expected = {
        (r["dimensionValues"][1]["value"], r["dimensionValues"][2]["value"]): (
            int(r["metricValues"][0]["value"]),
            int(r["metricValues"][1]["value"]) * 1_000_000,
            round(float(r["metricValues"][2]["value"]) * 100) * 10_000,
        )
        for r in rows
    }
    got = {
        (r.campaign_name, r.ad_group_name): (r.clicks, r.conversions_micros, r.conversion_value_micros) for r in records
    }
    assert got == expected


async def test_empty_range_yields_no_pages(ga4: GA4Provider, creds: Credentials) -> None:
    far = dt.date(2001, 1, 1)
    assert await _pages(ga4, creds, far, far) == []


async def test_server_error_then_success_is_retried(
    ga4: GA4Provider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("ga4.run_report", "http_500")
    sandbox_state.faults.add("ga4.run_report", "http_503")
    pages = await _pages(ga4, creds)
    assert sum(len(p) for p in pages) == 90 * 3 * 3
    assert sandbox_state.faults.pending() == []


async def test_quota_429_becomes_rate_limited_with_retry_after(
    ga4: GA4Provider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("ga4.run_report", "quota_429", times=10, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        await _pages(ga4, creds)
    assert caught.value.retry_after == 7.0 and caught.value.status_code == 429
    assert caught.value.message.startswith("Exhausted property tokens")
    assert len(sandbox_state.faults.pending()[0:1]) == 1  # gave up after FAST_RETRY's 4 attempts


async def test_persistent_5xx_is_transient(ga4: GA4Provider, creds: Credentials, sandbox_state: SandboxState) -> None:
    sandbox_state.faults.add("ga4.run_report", "http_503", times=10)
    with pytest.raises(TransientError) as caught:
        await _pages(ga4, creds)
    assert caught.value.status_code == 503 and caught.value.message == "The service is currently unavailable."


async def test_permission_denied_is_permanent_with_googles_message(
    ga4: GA4Provider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("ga4.run_report", "permission_denied")
    with pytest.raises(PermanentError) as caught:
        await _pages(ga4, creds)
    assert caught.value.status_code == 403
    assert "sufficient permissions" in caught.value.message and "http" not in caught.value.message[:10]
    assert sandbox_state.faults.pending() == []  # not retried


async def test_unauthenticated_is_auth_expired(
    ga4: GA4Provider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    # The SDK itself re-signs and retries a 401 up to twice before giving up.
    sandbox_state.faults.add("ga4.run_report", "unauthenticated", times=3)
    with pytest.raises(AuthExpired) as caught:
        await _pages(ga4, creds)
    assert caught.value.status_code == 401 and "invalid authentication credentials" in caught.value.message


async def test_malformed_body_is_retried(ga4: GA4Provider, creds: Credentials, sandbox_state: SandboxState) -> None:
    sandbox_state.faults.add("ga4.run_report", "malformed")
    assert sum(len(p) for p in await _pages(ga4, creds)) == 90 * 3 * 3


async def test_other_levels_and_missing_pull_setup_are_refused(ga4: GA4Provider, creds: Credentials) -> None:
    with pytest.raises(PermanentError):
        [p async for p in ga4.fetch_metrics(creds, ACCOUNT, "keyword", START, END)]
    push_only = Credentials(extra={"measurement_id": DEMO_MEASUREMENT_ID, "api_secret": DEMO_API_SECRET})
    with pytest.raises(PermanentError, match="property ID"):
        [p async for p in ga4.fetch_metrics(push_only, ACCOUNT, "campaign", START, END)]
