"""The emulated hosts and the control API against crafted bodies (attack report F10): deep JSON, bad JSON,
other JSON types and wrong field types are the host's own 4xx, never a 500. In-process sandbox."""

from __future__ import annotations

import base64

import httpx
import pytest

from routy_app.sandbox.app import mounted_sandbox
from routy_app.sandbox.core.state import SandboxConfig, SandboxState
from routy_app.sandbox.ga4.streams import DEMO_API_SECRET, DEMO_MEASUREMENT_ID, DEMO_PROPERTY_ID
from routy_app.sandbox.google.errors import ADWORDS_SCOPE, DATAMANAGER_SCOPE
from routy_app.sandbox.meta import graph

DEEP = b"[" * 5000
DEEP_OBJECT = b'{"a":' * 5000
MP = f"measurement_id={DEMO_MEASUREMENT_ID}&api_secret={DEMO_API_SECRET}"


@pytest.fixture
def state() -> SandboxState:
    return SandboxState(SandboxConfig())


@pytest.fixture
async def http(state):
    transport = httpx.ASGITransport(app=mounted_sandbox(state), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        yield client


def _google(state: SandboxState) -> dict[str, str]:
    token = state.tokens.issue("google", "access", 3600, scope=f"{ADWORDS_SCOPE} {DATAMANAGER_SCOPE}").value
    return {"Authorization": f"Bearer {token}", "developer-token": "dev", "Content-Type": "application/json"}


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
async def test_deep_json_on_mp_debug_is_a_validation_message_not_a_500(http, state, body):
    answer = await http.post(f"/sandbox/ga/debug/mp/collect?{MP}", content=body)
    assert answer.status_code == 200  # GA4's validation server answers 200 with its messages
    [message] = answer.json()["validationMessages"]
    assert message["validationCode"] == "VALUE_INVALID" and "nested too deeply" in message["description"]
    answer = await http.post(f"/sandbox/ga/mp/collect?{MP}", content=body)
    assert answer.status_code == 204  # the collection endpoint never says; nothing is recorded
    assert state.received.get("ga4", []) == []


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
async def test_deep_json_on_google_hosts_is_invalid_argument(http, state, body):
    headers = _google(state)
    answer = await http.post("/sandbox/datamanager/v1/events:ingest", content=body, headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["status"] == "INVALID_ARGUMENT"
    search = "/sandbox/googleads/v26/customers/1234567890/googleAds:search"
    answer = await http.post(search, content=body, headers={**headers, "login-customer-id": "1234567890"})
    assert answer.status_code == 400 and answer.json()["error"]["status"] == "INVALID_ARGUMENT"


async def test_deep_json_on_the_data_api_body_or_bearer_is_a_4xx(http, state):
    path = f"/sandbox/analyticsdata/v1beta/properties/{DEMO_PROPERTY_ID}:runReport"
    answer = await http.post(path, content=DEEP, headers=_google(state))
    assert answer.status_code == 400 and answer.json()["error"]["status"] == "INVALID_ARGUMENT"
    deep_claims = base64.urlsafe_b64encode(DEEP).decode().rstrip("=")
    answer = await http.post(path, content=b"{}", headers={"Authorization": f"Bearer e30.{deep_claims}.sig"})
    assert answer.status_code == 401


@pytest.mark.parametrize("body", [DEEP, b"[1, 2]", b'"text"', b"null", b"7"])
async def test_capi_body_that_is_not_an_object_is_a_graph_error(http, state, body):
    token = state.tokens.issue("meta", "access", 3600, scope="ads_management").value
    pixel = graph.pixels_of(state, graph.AD_ACCOUNTS[0])[0]["id"]
    answer = await http.post(
        f"/sandbox/graph/v25.0/{pixel}/events",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100


# ---------------------------------------------------------------- the control API

CONTROL_ROUTES = ["/faults", "/tokens/revoke", "/tokens/expire", "/config", "/google_ads/accounts/1234567890/name"]
NOT_AN_OBJECT = [DEEP, DEEP_OBJECT, b"{nope", b"\xff\xfe", b"[1]", b'"x"', b"3", b"null", b"true"]


@pytest.mark.parametrize("body", NOT_AN_OBJECT)
@pytest.mark.parametrize("route", CONTROL_ROUTES)
async def test_control_body_that_is_not_a_json_object_is_a_400(http, route, body):
    answer = await http.post(f"/sandbox/_control{route}", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]


@pytest.mark.parametrize(
    "route, body",
    [
        ("/faults", {"operation": "google_ads.search", "condition": "auth_error", "times": "x"}),
        ("/faults", {"operation": "google_ads.search", "condition": "auth_error", "times": True}),
        ("/faults", {"operation": "google_ads.search", "condition": "auth_error", "times": 10**30}),
        ("/faults", {"operation": 1, "condition": "auth_error"}),
        ("/faults", {"operation": "google_ads.search", "condition": {}}),
        ("/faults", {"operation": "google_ads.search", "condition": "auth_error", "params": [1]}),
        ("/tokens/revoke", {"all": "yes"}),
        ("/tokens/revoke", {"token": 5}),
        ("/tokens/expire", {"all": True, "provider": ["google"]}),
        ("/config", {"seed": "x"}),
        ("/config", {"days": True}),
        ("/config", {"days": 10**9}),
        ("/config", {"days": -1}),
        ("/config", {"access_token_lifetime": None}),
        ("/config", {"days": 30, "seed": 1.5}),
        ("/google_ads/accounts/1234567890/name", {"name": 5}),
        ("/google_ads/accounts/1234567890/name", {"name": "x" * 201}),
    ],
)
async def test_control_field_of_the_wrong_type_is_a_400_and_changes_nothing(http, state, route, body):
    before = (dict(vars(state.config)), state.faults.pending(), state.tokens.all_values())
    token = state.tokens.issue("google", "access", 3600).value
    answer = await http.post(f"/sandbox/_control{route}", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]
    assert (dict(vars(state.config)), state.faults.pending()) == before[:2]
    assert state.tokens.check(token) == "ok"


async def test_control_still_does_its_job_with_good_bodies(http, state):
    token = state.tokens.issue("google", "access", 3600).value
    answer = await http.post("/sandbox/_control/tokens/bogus", json={"all": True})
    assert answer.status_code == 404 and state.tokens.check(token) == "ok"  # an unknown action revokes nothing
    answer = await http.post("/sandbox/_control/faults", json={"operation": "x", "condition": "y", "times": 3})
    assert answer.status_code == 201 and answer.json()["remaining"] == 3
    answer = await http.post("/sandbox/_control/config", json={"days": 30, "google_refresh_token_lifetime": None})
    assert answer.status_code == 200 and state.config.days == 30
    answer = await http.post("/sandbox/_control/tokens/revoke", json={"token": token})
    assert answer.status_code == 200 and state.tokens.check(token) != "ok"
