"""The sandbox reads Data Manager and GA4 Data API requests with Google's own message types.

So it refuses exactly what Google's schema refuses (unknown fields, wrong JSON types, unknown enum
names) and accepts every form the schema allows (enum names and numbers, snake_case or camelCase
names), and answers in the enum encoding asked for (`$alt=json;enum-encoding=int`).
"""

from __future__ import annotations

import httpx
import pytest

from routy_app.providers.google_ads.adapter import GoogleAdsProvider
from routy_app.providers.values import ConversionAction, Credentials
from tests.integration.factories import google, google_creds  # noqa: F401 - fixtures
from tests.integration.test_ga4_wire import AUTH as GA4_AUTH
from tests.integration.test_ga4_wire import BODY as GA4_BODY
from tests.integration.test_ga4_wire import REPORT

US = "1234567890"
INT_ENUMS = {"$alt": "json;enum-encoding=int"}


@pytest.fixture
async def action(google: GoogleAdsProvider, creds: Credentials) -> ConversionAction:
    us = next(a for a in await google.list_accounts(creds) if a.id == US)
    return (await google.list_conversion_actions(creds, us))[0]


def _request(action_id: str, **event) -> dict:
    base = {
        "transactionId": "S-1",
        "eventTimestamp": "2026-12-01T10:00:00Z",
        "eventSource": "WEB",
        "adIdentifiers": {"gclid": "Cj0-schema"},
    }
    return {
        "destinations": [
            {
                "reference": "d0",
                "productDestinationId": action_id,
                "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": US},
            }
        ],
        "events": [{**base, **event}],
        "encoding": "HEX",
    }


async def _ingest(
    http: httpx.AsyncClient,
    google_endpoints,
    creds: Credentials,
    body: dict,
    params: dict | None = None,
) -> httpx.Response:
    return await http.post(
        f"{google_endpoints.datamanager_base_url}/v1/events:ingest",
        json=body,
        params=params,
        headers={"Authorization": f"Bearer {creds.access_token}"},
    )


def _violation(answer: httpx.Response) -> tuple[str, str]:
    assert answer.status_code == 400, answer.text
    bad = next(d for d in answer.json()["error"]["details"] if d["@type"].endswith("google.rpc.BadRequest"))
    (only,) = bad["fieldViolations"]
    return only["field"], only["description"]


async def test_enum_names_and_numbers_are_both_accepted(sandbox_http, google_endpoints, creds, action) -> None:
    by_name = await _ingest(sandbox_http, google_endpoints, creds, _request(action.id))
    numbers = _request(action.id, transactionId="S-2", eventSource=4, consent={"adUserData": 1})
    numbers["encoding"] = 1
    numbers["destinations"][0]["operatingAccount"]["accountType"] = 1
    by_number = await _ingest(sandbox_http, google_endpoints, creds, numbers, INT_ENUMS)
    snake = {
        "destinations": [
            {
                "reference": "d0",
                "product_destination_id": action.id,
                "operating_account": {"account_type": "GOOGLE_ADS", "account_id": US},
            }
        ],
        "events": [
            {
                "transaction_id": "S-3",
                "event_timestamp": "2026-12-01T10:00:00Z",
                "event_source": "PHONE",
                "ad_identifiers": {"gclid": "Cj0-snake"},
            }
        ],
    }
    by_snake = await _ingest(sandbox_http, google_endpoints, creds, snake)
    assert [a.status_code for a in (by_name, by_number, by_snake)] == [200, 200, 200]
    assert set(by_number.json()) == {"requestId"}


async def test_what_the_schema_refuses(sandbox_http, google_endpoints, creds, action) -> None:
    unknown = _violation(await _ingest(sandbox_http, google_endpoints, creds, _request(action.id, orderId="x")))
    assert unknown == (
        "events[0]",
        "Invalid JSON payload received. Unknown name \"orderId\" at 'events[0]': Cannot find field.",
    )
    bad_enum = _violation(
        await _ingest(sandbox_http, google_endpoints, creds, _request(action.id, eventSource="ONLINE"))
    )
    assert bad_enum[0] == "events[0].event_source" and "google.ads.datamanager.v1.EventSource" in bad_enum[1]
    wrong_type = _violation(
        await _ingest(sandbox_http, google_endpoints, creds, _request(action.id, conversionValue="1,5"))
    )
    assert wrong_type[0] == "events[0].conversion_value"
    two_ids = _request(action.id, userData={"userIdentifiers": [{"emailAddress": "a" * 64, "phoneNumber": "b" * 64}]})
    assert (
        _violation(await _ingest(sandbox_http, google_endpoints, creds, two_ids))[0]
        == "events[0].user_data.user_identifiers[0]"
    )
    unknown_number = _violation(
        await _ingest(sandbox_http, google_endpoints, creds, _request(action.id, eventSource=99))
    )
    assert unknown_number[0] == "events[0].event_source"  # proto3 enums are open: the service refuses it


async def test_status_answers_in_the_encoding_asked_for(sandbox_http, google_endpoints, creds, action) -> None:
    request_id = (await _ingest(sandbox_http, google_endpoints, creds, _request(action.id))).json()["requestId"]
    url = f"{google_endpoints.datamanager_base_url}/v1/requestStatus:retrieve"
    headers = {"Authorization": f"Bearer {creds.access_token}"}
    named = (await sandbox_http.get(url, params={"requestId": request_id}, headers=headers)).json()
    numbered = (await sandbox_http.get(url, params={"requestId": request_id, **INT_ENUMS}, headers=headers)).json()
    assert named["requestStatusPerDestination"][0]["requestStatus"] == "PROCESSING"  # first poll
    assert numbered["requestStatusPerDestination"][0]["requestStatus"] == 1  # SUCCESS, as a number
    assert numbered["requestStatusPerDestination"][0]["destination"]["operatingAccount"]["accountType"] == 1
    extra = await sandbox_http.get(url, params={"requestId": request_id, "pageSize": "5"}, headers=headers)
    assert extra.status_code == 400 and "pageSize" in extra.text


async def test_ga4_run_report_is_read_with_the_official_type(sandbox_http: httpx.AsyncClient) -> None:
    numbered = await sandbox_http.post(
        REPORT, headers=GA4_AUTH, params=INT_ENUMS, json={**GA4_BODY, "metricAggregations": [1]}
    )  # TOTAL, as a number
    assert numbered.status_code == 200, numbered.text
    assert [h["type"] for h in numbered.json()["metricHeaders"]] == [1, 1, 1, 9]  # TYPE_INTEGER, TYPE_CURRENCY
    unknown = await sandbox_http.post(REPORT, headers=GA4_AUTH, json={**GA4_BODY, "pageSize": 10})
    assert unknown.status_code == 400 and 'Unknown name "pageSize"' in unknown.json()["error"]["message"]
    bad_enum = await sandbox_http.post(REPORT, headers=GA4_AUTH, json={**GA4_BODY, "metricAggregations": ["SUM"]})
    assert bad_enum.status_code == 400 and "MetricAggregation" in bad_enum.json()["error"]["message"]
