"""The GA4 emulator's wire contract (docs/providers/ga4.md), spoken to with plain HTTP."""

from __future__ import annotations

import base64
import json
import time

import httpx

from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.ga4.streams import DEMO_API_SECRET, DEMO_MEASUREMENT_ID, DEMO_PROPERTY_ID

MP = "/sandbox/ga"
REPORT = f"/sandbox/analyticsdata/v1beta/properties/{DEMO_PROPERTY_ID}:runReport"
QUERY = {"measurement_id": DEMO_MEASUREMENT_ID, "api_secret": DEMO_API_SECRET}
EVENT = {
    "client_id": "1.2",
    "events": [{"name": "purchase", "params": {"transaction_id": "T1", "value": 5, "currency": "EUR"}}],
}


def jwt(exp: float | None = None) -> str:
    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'RS256'})}.{part({'iss': 'a@b', 'exp': exp or time.time() + 3600})}.c2ln"


AUTH = {"Authorization": f"Bearer {jwt()}"}
BODY = {
    "dateRanges": [{"startDate": "30daysAgo", "endDate": "yesterday"}],
    "dimensions": [{"name": "date"}, {"name": "sessionCampaignName"}, {"name": "sessionSourceMedium"}],
    "metrics": [{"name": "sessions"}, {"name": "totalUsers"}, {"name": "keyEvents"}, {"name": "totalRevenue"}],
    "limit": "10000",
}


async def test_collect_always_answers_204_empty(sandbox_http: httpx.AsyncClient, sandbox_state: SandboxState) -> None:
    cases = [
        (QUERY, b"{not json"),
        ({**QUERY, "api_secret": "wrong"}, json.dumps(EVENT).encode()),
        ({"measurement_id": "nonsense"}, json.dumps(EVENT).encode()),
        (QUERY, json.dumps({"events": [{"name": "_bad"}]}).encode()),
    ]
    for query, body in cases:
        answer = await sandbox_http.post(f"{MP}/mp/collect", params=query, content=body)
        assert (answer.status_code, answer.content) == (204, b"")
    assert sandbox_state.received["ga4"] == []
    answer = await sandbox_http.post(f"{MP}/mp/collect", params=QUERY, json=EVENT)
    assert answer.status_code == 204
    assert [e["transaction_id"] for e in sandbox_state.received["ga4"]] == ["T1"]


async def test_debug_collect_reports_but_stores_nothing(
    sandbox_http: httpx.AsyncClient, sandbox_state: SandboxState
) -> None:
    answer = await sandbox_http.post(
        f"{MP}/debug/mp/collect", params=QUERY, json={"client_id": "1.2", "events": [{"name": "_bad"}]}
    )
    assert answer.status_code == 200
    [message] = answer.json()["validationMessages"]
    assert message["fieldPath"] == "events" and message["validationCode"] == "NAME_INVALID"
    assert message["description"].startswith("Event at index: [0] has invalid event name [_bad].")
    ok = await sandbox_http.post(f"{MP}/debug/mp/collect", params=QUERY, json=EVENT)
    assert ok.json() == {"validationMessages": []}
    assert sandbox_state.received["ga4"] == []


async def test_run_report_shape_and_offset_paging(sandbox_http: httpx.AsyncClient) -> None:
    full = (await sandbox_http.post(REPORT, headers=AUTH, json=BODY)).json()
    assert full["rowCount"] == 30 * 3 * 3 == len(full["rows"])
    assert [h["type"] for h in full["metricHeaders"]] == ["TYPE_INTEGER"] * 3 + ["TYPE_CURRENCY"]
    assert full["metadata"] == {"currencyCode": "USD", "timeZone": "America/New_York"}
    assert full["kind"] == "analyticsData#runReport" and "propertyQuota" not in full
    row = full["rows"][0]
    assert len(row["dimensionValues"][0]["value"]) == 8 and row["dimensionValues"][0]["value"].isdigit()
    assert all(isinstance(v["value"], str) for v in row["metricValues"])
    paged = []
    for offset in range(0, 270, 100):
        page = (
            await sandbox_http.post(REPORT, headers=AUTH, json={**BODY, "limit": "100", "offset": str(offset)})
        ).json()
        assert page["rowCount"] == 270
        paged += page["rows"]
    assert paged == full["rows"]


async def test_run_report_aggregates_over_unrequested_dimensions(sandbox_http: httpx.AsyncClient) -> None:
    by_row = (await sandbox_http.post(REPORT, headers=AUTH, json=BODY)).json()["rows"]
    by_date = (
        await sandbox_http.post(
            REPORT, headers=AUTH, json={**BODY, "dimensions": [{"name": "date"}], "returnPropertyQuota": True}
        )
    ).json()
    assert by_date["rowCount"] == 30 and "tokensPerDay" in by_date["propertyQuota"]
    day = by_date["rows"][0]["dimensionValues"][0]["value"]
    sessions = sum(int(r["metricValues"][0]["value"]) for r in by_row if r["dimensionValues"][0]["value"] == day)
    assert by_date["rows"][0]["metricValues"][0]["value"] == str(sessions)


async def test_run_report_empty_has_no_rows(sandbox_http: httpx.AsyncClient) -> None:
    answer = (
        await sandbox_http.post(
            REPORT, headers=AUTH, json={**BODY, "dateRanges": [{"startDate": "2001-01-01", "endDate": "2001-01-31"}]}
        )
    ).json()
    assert "rows" not in answer and "rowCount" not in answer and answer["metadata"]["currencyCode"] == "USD"


async def test_run_report_errors_in_google_shape(sandbox_http: httpx.AsyncClient) -> None:
    missing = await sandbox_http.post(REPORT, json=BODY)
    expired = await sandbox_http.post(REPORT, headers={"Authorization": f"Bearer {jwt(time.time() - 5)}"}, json=BODY)
    opaque = await sandbox_http.post(REPORT, headers={"Authorization": "Bearer not-a-jwt"}, json=BODY)
    for answer in (missing, expired, opaque):
        assert answer.status_code == 401 and answer.json()["error"]["status"] == "UNAUTHENTICATED"
    unknown = await sandbox_http.post(REPORT.replace(DEMO_PROPERTY_ID, "42"), headers=AUTH, json=BODY)
    assert unknown.status_code == 403 and unknown.json()["error"]["status"] == "PERMISSION_DENIED"
    bad_dim = await sandbox_http.post(REPORT, headers=AUTH, json={**BODY, "dimensions": [{"name": "nope"}]})
    assert bad_dim.status_code == 400 and bad_dim.json()["error"] == {
        "code": 400,
        "status": "INVALID_ARGUMENT",
        "message": "Field nope is not a valid dimension. For a list of valid dimensions and metrics, see "
        "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema",
    }
    bad_limit = await sandbox_http.post(REPORT, headers=AUTH, json={**BODY, "limit": "ten"})
    assert bad_limit.status_code == 400


async def test_faults_through_the_control_api(sandbox_http: httpx.AsyncClient) -> None:
    added = await sandbox_http.post(
        "/sandbox/_control/faults",
        json={"operation": "ga4.run_report", "condition": "quota_429", "times": 1, "params": {"retry_after": 3}},
    )
    assert added.status_code == 201
    throttled = await sandbox_http.post(REPORT, headers=AUTH, json=BODY)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert throttled.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert (await sandbox_http.post(REPORT, headers=AUTH, json=BODY)).status_code == 200
    await sandbox_http.post("/sandbox/_control/faults", json={"operation": "ga4.mp_collect", "condition": "http_500"})
    failed = await sandbox_http.post(f"{MP}/mp/collect", params=QUERY, json=EVENT)
    assert failed.status_code == 500 and failed.json()["error"]["status"] == "INTERNAL"
