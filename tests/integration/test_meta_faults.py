"""Every Meta fault condition the sandbox can inject, seen through the adapter as our typed errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import httpx
import pytest

from routy_app.providers.errors import AuthExpired, PermanentError, RateLimited, TransientError
from routy_app.providers.meta_ads.adapter import MetaAdsProvider
from routy_app.providers.meta_ads.endpoints import MetaEndpoints
from routy_app.providers.retry import RetryPolicy
from routy_app.providers.values import Account, Credentials, OutgoingConversion
from routy_app.sandbox.core.state import SandboxState
from tests.integration.conftest import FAST_RETRY
from tests.integration.consent import consent
from tests.integration.factories import META_REDIRECT as REDIRECT
from tests.integration.factories import meta_creds  # noqa: F401 - fixture

ACCOUNT = Account(id="act_1000000002", name="Sandbox Shop US", currency="USD", timezone="America/Los_Angeles")
YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


class Sleeps:
    """A retry policy whose waits are recorded instead of slept."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def provider(meta_endpoints: MetaEndpoints, sandbox_http: httpx.AsyncClient, sleeps: Sleeps) -> MetaAdsProvider:
    policy = dataclasses.replace(FAST_RETRY, sleep=sleeps)
    return MetaAdsProvider(meta_endpoints, sandbox_http, retry=policy)


async def insights(provider: MetaAdsProvider, creds: Credentials) -> list:
    return [
        row async for page in provider.fetch_metrics(creds, ACCOUNT, "campaign", YESTERDAY, YESTERDAY) for row in page
    ]


async def test_expired_token_fault(provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState) -> None:
    sandbox_state.faults.add("meta.insights", "expired_token")
    with pytest.raises(AuthExpired) as caught:
        await insights(provider, creds)
    assert caught.value.code == "190/463" and caught.value.message.startswith("Error validating access token")
    assert caught.value.request_id and creds.access_token not in str(caught.value)
    with pytest.raises(AuthExpired):  # the token stays expired, as on Meta: refresh cannot save it
        await provider.refresh(creds)


async def test_revoked_token_fault_makes_debug_token_invalid(
    provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("meta.adaccounts", "revoked_token")
    with pytest.raises(AuthExpired) as caught:
        await provider.list_accounts(creds)
    assert caught.value.code == "190/460" and "invalidated" in caught.value.message
    with pytest.raises(AuthExpired) as refreshed:
        await provider.refresh(creds)
    assert refreshed.value.code == "190/460"


async def test_revoked_token_via_debug_token_fault(
    provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("meta.debug_token", "revoked_token", subcode=458)
    with pytest.raises(AuthExpired) as caught:
        await provider.refresh(creds)
    assert caught.value.code == "190/458"


async def test_token_expired_through_the_control_api(
    provider: MetaAdsProvider, creds: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    answer = await sandbox_http.post("/sandbox/_control/tokens/expire", json={"all": True, "provider": "meta"})
    assert answer.status_code == 200
    with pytest.raises(AuthExpired) as caught:
        await provider.test_connection(creds, ACCOUNT)
    assert caught.value.code == "190/463"


async def test_throttle_17_waits_the_regain_time_then_succeeds(
    provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState, sleeps: Sleeps
) -> None:
    sandbox_state.faults.add("meta.insights", "throttle_17")
    assert len(await insights(provider, creds)) == 3
    assert sleeps.waits == [60.0]  # estimated_time_to_regain_access: 1 minute


async def test_throttle_longer_than_the_run_can_wait_is_raised(
    provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState, sleeps: Sleeps
) -> None:
    sandbox_state.faults.add("meta.insights", "throttle_17", estimated_time_to_regain_access=5)
    with pytest.raises(RateLimited) as caught:
        await insights(provider, creds)
    assert caught.value.retry_after == 300 and caught.value.code == "17/2446079"
    assert caught.value.status_code == 400 and "User request limit reached" in caught.value.message
    assert sleeps.waits == []


@pytest.mark.parametrize(
    ("condition", "operation", "code"),
    [
        ("throttle_80000", "meta.insights", "80000/2446079"),
        ("throttle_80004", "meta.account", "80004/2446079"),
        ("throttle_4", "meta.adaccounts", "4/1504022"),
        ("throttle_613", "meta.insights", "613/1487742"),
    ],
)
async def test_business_use_case_throttles(
    provider: MetaAdsProvider,
    creds: Credentials,
    sandbox_state: SandboxState,
    sleeps: Sleeps,
    condition: str,
    operation: str,
    code: str,
) -> None:
    sandbox_state.faults.add(operation, condition, times=10)
    call = {
        "meta.insights": lambda: insights(provider, creds),
        "meta.account": lambda: provider.test_connection(creds, ACCOUNT),
        "meta.adaccounts": lambda: provider.list_accounts(creds),
    }[operation]
    with pytest.raises(RateLimited) as caught:
        await call()
    assert caught.value.code == code and caught.value.retry_after == 60
    assert sleeps.waits == [60.0] * (FAST_RETRY.max_attempts - 1)


@pytest.mark.parametrize(
    ("condition", "params"),
    [
        ("transient_2", {}),
        ("transient_2", {"status": 400}),
        ("http_500", {}),
        ("malformed", {}),
        ("malformed", {"status": 502}),
    ],
)
async def test_transient_faults_are_retried_then_succeed(
    provider: MetaAdsProvider,
    creds: Credentials,
    sandbox_state: SandboxState,
    sleeps: Sleeps,
    condition: str,
    params: dict,
) -> None:
    sandbox_state.faults.add("meta.insights", condition, times=2, **params)
    assert len(await insights(provider, creds)) == 3
    assert len(sleeps.waits) == 2


@pytest.mark.parametrize(
    ("condition", "code", "status"),
    [
        ("transient_2", "2", 500),
        ("http_500", "1/99", 500),
        ("malformed", "malformed", 200),
    ],
)
async def test_transient_faults_that_persist_become_transient_errors(
    provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState, condition: str, code: str, status: int
) -> None:
    sandbox_state.faults.add("meta.adaccounts", condition, times=10)
    with pytest.raises(TransientError) as caught:
        await provider.list_accounts(creds)
    assert caught.value.code == code and caught.value.status_code == status
    assert len(sandbox_state.faults.pending()) == 1  # FAST_RETRY gave up after its 4 attempts


async def test_reduce_data_outside_insights_is_transient(
    provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("meta.account", "reduce_data", times=10)
    with pytest.raises(TransientError) as caught:
        await provider.test_connection(creds, ACCOUNT)
    assert caught.value.code == "reduce_data" and caught.value.status_code == 500


async def test_permission_and_parameter_errors(
    provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("meta.pixels", "permission_denied")
    with pytest.raises(AuthExpired) as denied:
        await provider.list_conversion_actions(creds, ACCOUNT)
    assert denied.value.code == "200" and "ads_read" in denied.value.message
    sandbox_state.faults.add("meta.insights", "invalid_parameter")
    with pytest.raises(PermanentError) as invalid:
        await insights(provider, creds)
    assert invalid.value.code == "100"


async def test_token_endpoint_faults(
    provider: MetaAdsProvider, sandbox_http: httpx.AsyncClient, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("meta.token", "transient_2")
    url = provider.authorization_url("s", "v", REDIRECT)
    code = (await consent(sandbox_http, url))["code"]
    creds = await provider.exchange_code(code, "v", REDIRECT)  # retried after the transient failure
    assert creds.access_token


async def test_events_faults(
    provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState, sandbox_http: httpx.AsyncClient
) -> None:
    pixel = (await provider.list_conversion_actions(creds, ACCOUNT))[0]
    event = OutgoingConversion(
        key="K1",
        event_type="lead",
        action=pixel,
        occurred_at=dt.datetime.now(dt.UTC),
        fbp="fb.1.1558571054389.1098115397",
    )
    answer = await sandbox_http.post(
        "/sandbox/_control/faults",
        json={
            "operation": "meta.events",
            "condition": "throttle_80004",
            "params": {"estimated_time_to_regain_access": 10},
        },
    )
    assert answer.status_code == 201
    with pytest.raises(RateLimited) as caught:
        await provider.push_conversions(creds, ACCOUNT, [event])
    assert caught.value.retry_after == 600
    sandbox_state.faults.add("meta.events", "http_500")
    results = await provider.push_conversions(creds, ACCOUNT, [event])
    assert [r.status for r in results] == ["sent"]
    assert len(sandbox_state.received["meta_ads"]) == 1


async def test_connection_errors_are_transient(meta_endpoints: MetaEndpoints, creds: Credentials) -> None:
    unreachable = dataclasses.replace(meta_endpoints, graph_base_url="http://127.0.0.1:9")
    async with httpx.AsyncClient(timeout=2) as http:
        provider = MetaAdsProvider(
            unreachable, http, retry=RetryPolicy(max_attempts=2, initial=0, cap=0, sleep=Sleeps())
        )
        with pytest.raises(TransientError) as caught:
            await provider.list_accounts(creds)
    assert caught.value.code == "transport" and "127.0.0.1" not in caught.value.message


async def test_usage_headers_on_graph_answers(
    sandbox_http: httpx.AsyncClient, creds: Credentials, meta_endpoints: MetaEndpoints, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("meta.adaccounts", "throttle_80000", estimated_time_to_regain_access=3)
    answer = await sandbox_http.get(
        f"{meta_endpoints.graph_base_url}/{meta_endpoints.api_version}/me/adaccounts",
        headers={"Authorization": f"Bearer {creds.access_token}"},
    )
    assert answer.status_code == 400
    usage = json.loads(answer.headers["x-business-use-case-usage"])
    (entries,) = usage.values()
    assert entries[0]["call_count"] == 100 and entries[0]["estimated_time_to_regain_access"] == 3
    error = answer.json()["error"]
    assert error["code"] == 80000 and error["type"] == "OAuthException" and error["fbtrace_id"]
