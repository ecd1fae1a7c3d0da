"""What our adapters send, parsed strictly with Google's own message types (unknown fields are errors).

The sandbox is our reading of Google's docs and so is the adapter; this test holds the adapter to the
schema Google ships (`google-ads-datamanager`) directly, so a field name or enum spelling we invented
fails here even if the sandbox had learnt the same mistake. (The GA4 adapter builds its Data API
requests with the official `RunReportRequest` type itself, so it cannot send a field the type lacks.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import httpx
from google.ads import datamanager_v1 as dm
from google.protobuf import json_format

from routy_app.providers.google_ads.adapter import GoogleAdsProvider
from routy_app.providers.hashing import hash_email_google, hash_phone_google
from routy_app.providers.values import Credentials, OutgoingConversion
from tests.integration.factories import google, google_creds  # noqa: F401 - fixtures

US, DE = "1234567890", "5550000001"


def strict(message_type: type, payload: dict) -> dict:
    """Parse as Google's JSON transcoder would (raises on anything the schema lacks); canonical JSON back."""
    message = message_type.pb()()
    json_format.ParseDict(payload, message, ignore_unknown_fields=False)
    return json_format.MessageToDict(message)


def _recording(http: httpx.AsyncClient) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request)

    http.event_hooks["request"].append(hook)
    return seen


async def test_datamanager_ingest_and_status_requests_parse_strictly(
    google: GoogleAdsProvider, creds: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    accounts = {a.id: a for a in await google.list_accounts(creds)}
    seen = _recording(sandbox_http)
    for account_id in (US, DE):  # DE is reached through its manager: loginAccount is sent too
        account = accounts[account_id]
        action = (await google.list_conversion_actions(creds, account))[0]
        action = dataclasses.replace(action, extra={**action.extra, "event_source": "PHONE"})
        when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
        batch = [
            OutgoingConversion(
                key=f"K-{account_id}-1",
                event_type="sale",
                action=action,
                occurred_at=when,
                value_micros=12_340_000,
                currency="usd",
                gclid="Cj0-a",
                gbraid="gb-1",
                email_sha256=hash_email_google("a@example.com"),
                phone_sha256=hash_phone_google("+14155550123"),
                user_agent="Mozilla/5.0",
                ip="203.0.113.9",
                consent_ad_user_data="granted",
                consent_ad_personalization="denied",
            ),
            OutgoingConversion(
                key=f"K-{account_id}-2",
                event_type="sale",
                action=action,
                occurred_at=when.replace(microsecond=123456),
                wbraid="wb-1",
                origin="in_store",
            ),
        ]
        results = await google.push_conversions(creds, account, batch)
        assert {r.status for r in results} == {"sent"}
        await google.check_verdict(creds, results[0].request_id)
        await google.push_conversions(creds, account, batch[:1], validate_only=True)

    ingests = [r for r in seen if r.url.path.endswith("/v1/events:ingest")]
    statuses = [r for r in seen if r.url.path.endswith("/v1/requestStatus:retrieve")]
    assert len(ingests) == 4 and len(statuses) == 2
    for request in ingests:
        parsed = strict(dm.IngestEventsRequest, json.loads(request.content))
        assert {e["eventSource"] for e in parsed["events"]} <= {"PHONE", "IN_STORE"}
        assert all(d["operatingAccount"]["accountType"] == "GOOGLE_ADS" for d in parsed["destinations"])
    first = strict(dm.IngestEventsRequest, json.loads(ingests[0].content))
    assert first["events"][0]["consent"] == {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_DENIED"}
    assert first["encoding"] == "HEX" and "validateOnly" not in first
    assert strict(dm.IngestEventsRequest, json.loads(ingests[1].content))["validateOnly"] is True
    de = strict(dm.IngestEventsRequest, json.loads(ingests[2].content))
    assert de["destinations"][0]["loginAccount"]["accountId"] != DE
    for request in statuses:
        assert request.method == "GET" and not request.content
        query = dict(request.url.params.items())
        assert strict(dm.RetrieveRequestStatusRequest, query)["requestId"]
