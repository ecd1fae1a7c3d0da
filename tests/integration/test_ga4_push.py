"""Pushing conversions to GA4 through the Measurement Protocol emulator (validate, then collect)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import httpx
import pytest

from routy_app.providers.errors import TransientError
from routy_app.providers.ga4.adapter import GA4Provider
from routy_app.providers.ga4.endpoints import GA4Endpoints
from routy_app.providers.values import Account, ConversionAction, Credentials, OutgoingConversion
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.ga4.streams import DEMO_API_SECRET, DEMO_MEASUREMENT_ID
from tests.integration.conftest import FAST_RETRY

CREDS = Credentials(extra={"measurement_id": DEMO_MEASUREMENT_ID, "api_secret": DEMO_API_SECRET})
ACCOUNT = Account(id=DEMO_MEASUREMENT_ID, name="stream", currency="USD", timezone="UTC")
EMAIL = hashlib.sha256(b"ada@example.com").hexdigest()


@pytest.fixture
def ga4(ga4_endpoints: GA4Endpoints, sandbox_http: httpx.AsyncClient) -> GA4Provider:
    return GA4Provider(ga4_endpoints, sandbox_http, retry=FAST_RETRY)


def conv(
    key: str,
    *,
    event: str = "purchase",
    client_id: str | None = "111.222",
    value_micros: int = 129_900_000,
    hours_ago: float = 1,
    **kw,
) -> OutgoingConversion:
    return OutgoingConversion(
        key=key,
        event_type="deal_won",
        action=ConversionAction(event, event, "event"),
        occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago),
        value_micros=value_micros,
        currency="EUR",
        ga_client_id=client_id,
        **kw,
    )


async def test_push_sends_events_with_the_wire_fields(ga4: GA4Provider, sandbox_state: SandboxState) -> None:
    batch = [
        conv("ORD-1", email_sha256=EMAIL, consent_ad_user_data="granted", consent_ad_personalization="denied"),
        conv("ORD-2", client_id="333.444", event="generate_lead", value_micros=0),
    ]
    results = await ga4.push_conversions(CREDS, ACCOUNT, batch)
    assert [r.status for r in results] == ["sent", "sent"]
    got = {e["transaction_id"]: e for e in sandbox_state.received["ga4"]}
    assert set(got) == {"ORD-1", "ORD-2"}
    first = got["ORD-1"]
    assert (first["measurement_id"], first["client_id"], first["name"]) == (DEMO_MEASUREMENT_ID, "111.222", "purchase")
    assert first["params"]["value"] == 129.9 and first["params"]["currency"] == "EUR"
    assert first["consent"] == {"ad_user_data": "GRANTED", "ad_personalization": "DENIED"}
    assert first["user_data"] == {"sha256_email_address": [EMAIL]}
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    expected_ts = (batch[0].occurred_at - epoch) // dt.timedelta(microseconds=1)
    assert first["timestamp_micros"] == expected_ts
    assert "value" not in got["ORD-2"]["params"] and got["ORD-2"]["client_id"] == "333.444"


async def test_purchase_pushed_twice_is_counted_once(ga4: GA4Provider, sandbox_state: SandboxState) -> None:
    await ga4.push_conversions(CREDS, ACCOUNT, [conv("ORD-7")])
    again = await ga4.push_conversions(CREDS, ACCOUNT, [conv("ORD-7")])
    assert again[0].status == "sent"
    purchases = [e for e in sandbox_state.received["ga4"] if e["transaction_id"] == "ORD-7"]
    assert len(purchases) == 1 and purchases[0]["duplicates"] == 1


async def test_non_purchase_resend_is_recorded_as_duplicate(ga4: GA4Provider, sandbox_state: SandboxState) -> None:
    """GA4 only deduplicates purchases; the sandbox keeps the resend but flags it."""
    for _ in range(2):
        await ga4.push_conversions(CREDS, ACCOUNT, [conv("L-1", event="generate_lead")])
    leads = [e for e in sandbox_state.received["ga4"] if e["transaction_id"] == "L-1"]
    assert [e["duplicate"] for e in leads] == [False, True]


async def test_wrong_secret_is_silently_dropped_like_ga4(ga4: GA4Provider, sandbox_state: SandboxState) -> None:
    creds = Credentials(extra={"measurement_id": DEMO_MEASUREMENT_ID, "api_secret": "wrong"})
    results = await ga4.push_conversions(creds, ACCOUNT, [conv("ORD-9")])
    assert results[0].status == "sent"  # /mp/collect said 204, as the real one does
    assert sandbox_state.received["ga4"] == []


async def test_more_than_25_events_are_refused(ga4: GA4Provider, sandbox_state: SandboxState) -> None:
    with pytest.raises(ValueError, match="25"):
        await ga4.push_conversions(CREDS, ACCOUNT, [conv(f"K{i}", client_id=f"{i}.1") for i in range(26)])
    assert sandbox_state.received["ga4"] == []


async def test_25_events_of_one_client_go_in_one_request(ga4: GA4Provider, sandbox_state: SandboxState) -> None:
    results = await ga4.push_conversions(CREDS, ACCOUNT, [conv(f"K{i}") for i in range(25)])
    assert {r.status for r in results} == {"sent"}
    assert len(sandbox_state.received["ga4"]) == 25


async def test_reserved_event_name_fails_with_the_validation_description(
    ga4: GA4Provider, sandbox_state: SandboxState
) -> None:
    results = await ga4.push_conversions(
        CREDS, ACCOUNT, [conv("A", event="session_start", client_id="1.1"), conv("B", client_id="2.2")]
    )
    assert results[0].status == "failed"
    assert "session_start" in results[0].error and "reserved" in results[0].error
    assert results[1].status == "sent"
    assert [e["transaction_id"] for e in sandbox_state.received["ga4"]] == ["B"]


async def test_event_older_than_72h_fails_and_is_not_sent(ga4: GA4Provider, sandbox_state: SandboxState) -> None:
    results = await ga4.push_conversions(CREDS, ACCOUNT, [conv("OLD", hours_ago=80)])
    assert results[0].status == "failed" and "72 hours" in results[0].error
    assert sandbox_state.received["ga4"] == []


async def test_events_without_client_id_are_skipped(ga4: GA4Provider, sandbox_state: SandboxState) -> None:
    results = await ga4.push_conversions(CREDS, ACCOUNT, [conv("N", client_id=None), conv("Y")])
    assert (results[0].status, results[0].error) == ("skipped", "no GA client id")
    assert results[1].status == "sent"


async def test_validate_only_stores_nothing(ga4: GA4Provider, sandbox_state: SandboxState) -> None:
    results = await ga4.push_conversions(CREDS, ACCOUNT, [conv("T1")], validate_only=True)
    assert results[0].status == "sent"
    assert json.loads(results[0].response) == {"validationMessages": []}
    assert sandbox_state.received["ga4"] == []


async def test_collect_5xx_is_retried(ga4: GA4Provider, sandbox_state: SandboxState) -> None:
    sandbox_state.faults.add("ga4.mp_collect", "http_503", times=2)
    results = await ga4.push_conversions(CREDS, ACCOUNT, [conv("R1")])
    assert results[0].status == "sent"
    assert len(sandbox_state.received["ga4"]) == 1


async def test_collect_down_raises_transient_when_nothing_was_sent(
    ga4: GA4Provider, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("ga4.mp_collect", "http_500", times=10)
    with pytest.raises(TransientError) as caught:
        await ga4.push_conversions(CREDS, ACCOUNT, [conv("R2")])
    assert caught.value.status_code == 500
    assert DEMO_API_SECRET not in caught.value.message
