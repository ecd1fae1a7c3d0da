"""Meta Conversions API against the sandbox: pixels, sends, dedup, whole-batch rejection, wire rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

import httpx
import pytest

from routy_app.providers.meta_ads.adapter import MetaAdsProvider
from routy_app.providers.meta_ads.endpoints import MetaEndpoints
from routy_app.providers.values import Account, ConversionAction, Credentials, OutgoingConversion
from routy_app.sandbox.core.state import SandboxState
from tests.integration.factories import meta_creds, meta_provider  # noqa: F401 - fixtures

ACCOUNT = Account(id="act_1000000001", name="Sandbox Shop EU", currency="EUR", timezone="Europe/Berlin")
NOW = dt.datetime.now(dt.UTC)
EMAIL = hashlib.sha256(b"jane@example.com").hexdigest()
PHONE = hashlib.sha256(b"14155550123").hexdigest()


@pytest.fixture
async def pixel(provider: MetaAdsProvider, creds: Credentials) -> ConversionAction:
    first = (await provider.list_conversion_actions(creds, ACCOUNT))[0]
    return dataclasses.replace(
        first, extra={**first.extra, "event_name": "Purchase", "event_source_url": "https://shop.example/thanks"}
    )


def conv(
    action: ConversionAction,
    key: str,
    *,
    age: dt.timedelta = dt.timedelta(hours=1),
    user_agent: str | None = "Mozilla/5.0",
    value_micros: int = 129_900_000,
) -> OutgoingConversion:
    return OutgoingConversion(
        key=key,
        event_type="purchase",
        action=action,
        occurred_at=NOW - age,
        value_micros=value_micros,
        currency="EUR",
        fbc="fb.1.1554763741205.AbCdEf",
        fbp="fb.1.1558571054389.1098115397",
        email_sha256_meta=EMAIL,
        phone_sha256_meta=PHONE,
        user_agent=user_agent,
        ip="203.0.113.7",
    )


async def test_the_conversions_origin_is_metas_action_source(
    provider: MetaAdsProvider, creds: Credentials, pixel: ConversionAction, sandbox_state: SandboxState
) -> None:
    """A store sale 30 days old is a `physical_store` event (Meta keeps those 62 days, website ones 7)."""
    origins = {"IN-STORE": "in_store", "PHONE": "phone", "APP": "app", "OTHER": "other", "WEB-NO-UA": "web"}
    batch = [
        dataclasses.replace(
            conv(pixel, key, age=dt.timedelta(days=30 if origin == "in_store" else 1)),
            origin=origin,
            user_agent=None if key == "WEB-NO-UA" else "Mozilla/5.0",
        )
        for key, origin in origins.items()
    ]
    results = await provider.push_conversions(creds, ACCOUNT, batch)
    assert [r.status for r in results] == ["sent"] * len(batch), results
    sent = {e["event_id"]: e for e in sandbox_state.received["meta_ads"]}
    assert {key: sent[key]["action_source"] for key in origins} == {
        "IN-STORE": "physical_store",
        "PHONE": "phone_call",
        "APP": "app",
        "OTHER": "other",
        "WEB-NO-UA": "system_generated",
    }
    assert all(sent[key].get("event_source_url") is None for key in origins)


async def test_pixels_are_the_conversion_actions(provider: MetaAdsProvider, creds: Credentials) -> None:
    actions = await provider.list_conversion_actions(creds, ACCOUNT)
    assert [a.name for a in actions] == ["Sandbox Shop EU Pixel", "Sandbox Shop EU Pixel 2"]
    assert all(a.kind == "pixel" and a.id.isdigit() for a in actions)
    events = actions[0].extra["standard_events"]
    assert {"Purchase", "Lead", "CompleteRegistration", "AddToCart", "StartTrial"} <= set(events)


async def test_push_sends_events_in_the_wire_format(
    provider: MetaAdsProvider, creds: Credentials, pixel: ConversionAction, sandbox_state: SandboxState
) -> None:
    batch = [conv(pixel, "ORD-1"), conv(pixel, "ORD-2", user_agent=None, value_micros=5_000_000)]
    results = await provider.push_conversions(creds, ACCOUNT, batch)
    assert [r.status for r in results] == ["sent", "sent"]
    assert json.loads(results[0].response)["events_received"] == 2 and json.loads(results[0].response)["fbtrace_id"]
    web, system = sandbox_state.received["meta_ads"]
    assert web["pixel_id"] == pixel.id and web["event_name"] == "Purchase" and web["event_id"] == "ORD-1"
    assert web["action_source"] == "website" and web["event_source_url"] == "https://shop.example/thanks"
    assert web["user_data"]["em"] == [EMAIL] and web["user_data"]["ph"] == [PHONE]
    assert web["user_data"]["client_user_agent"] == "Mozilla/5.0" and web["user_data"]["fbc"].startswith("fb.1.")
    assert web["custom_data"] == {"value": 129.9, "currency": "eur", "order_id": "ORD-1"}
    assert web["event_time"] == int(batch[0].occurred_at.timestamp()) and web["test_event_code"] is None
    assert system["action_source"] == "system_generated" and system["custom_data"]["value"] == 5


async def test_duplicate_event_id_is_stored_once(
    provider: MetaAdsProvider, creds: Credentials, pixel: ConversionAction, sandbox_state: SandboxState
) -> None:
    first = await provider.push_conversions(creds, ACCOUNT, [conv(pixel, "ORD-7")])
    again = await provider.push_conversions(creds, ACCOUNT, [conv(pixel, "ORD-7")])
    assert first[0].status == again[0].status == "sent"
    assert json.loads(again[0].response)["events_received"] == 1  # still counted as received
    stored = [e for e in sandbox_state.received["meta_ads"] if e["event_id"] == "ORD-7" and not e["duplicate"]]
    assert len(stored) == 1 and len(sandbox_state.received["meta_ads"]) == 2


async def test_old_event_rejects_the_whole_batch(
    provider: MetaAdsProvider, creds: Credentials, pixel: ConversionAction, sandbox_state: SandboxState
) -> None:
    batch = [conv(pixel, "A"), conv(pixel, "B", age=dt.timedelta(days=8)), conv(pixel, "C")]
    results = await provider.push_conversions(creds, ACCOUNT, batch)
    assert [r.status for r in results] == ["failed"] * 3
    assert "too far in the past" in results[1].error and "index 1" in results[1].error
    assert results[0].error == results[2].error == "batch rejected because of event 1"
    assert sandbox_state.received["meta_ads"] == []  # nothing stored
    retry = await provider.push_conversions(creds, ACCOUNT, [batch[0], batch[2]])
    assert [r.status for r in retry] == ["sent", "sent"]


async def test_validate_only_sends_a_test_event_code(
    provider: MetaAdsProvider, creds: Credentials, pixel: ConversionAction, sandbox_state: SandboxState
) -> None:
    await provider.push_conversions(creds, ACCOUNT, [conv(pixel, "ORD-9")], validate_only=True)
    await provider.push_conversions(creds, ACCOUNT, [conv(pixel, "ORD-9")])
    test, real = sandbox_state.received["meta_ads"]
    assert test["test_event_code"] == "TEST_ROUTY" and real["test_event_code"] is None
    assert not real["duplicate"]  # a test event does not deduplicate the real one


async def test_batch_limits_are_enforced_before_sending(
    provider: MetaAdsProvider, creds: Credentials, pixel: ConversionAction
) -> None:
    with pytest.raises(ValueError, match="at most 1000"):
        await provider.push_conversions(creds, ACCOUNT, [conv(pixel, f"K{i}") for i in range(1001)])
    other = dataclasses.replace(pixel, id="123")
    with pytest.raises(ValueError, match="one pixel"):
        await provider.push_conversions(creds, ACCOUNT, [conv(pixel, "A"), conv(other, "B")])
    assert await provider.push_conversions(creds, ACCOUNT, []) == []


# ---------------------------------------------------------------- the emulator's CAPI wire rules


def _event(**overrides) -> dict:
    event = {
        "event_name": "Lead",
        "event_time": int(NOW.timestamp()),
        "action_source": "system_generated",
        "event_id": "E1",
        "user_data": {"em": [EMAIL]},
    }
    return {**event, **overrides}


async def _post(http: httpx.AsyncClient, meta_endpoints: MetaEndpoints, pixel_id: str, **kwargs) -> httpx.Response:
    return await http.post(f"{meta_endpoints.graph_base_url}/{meta_endpoints.api_version}/{pixel_id}/events", **kwargs)


async def test_events_accept_form_and_multipart_with_token_in_form(
    sandbox_http: httpx.AsyncClient,
    meta_endpoints: MetaEndpoints,
    creds: Credentials,
    pixel: ConversionAction,
    sandbox_state: SandboxState,
) -> None:
    form = await _post(
        sandbox_http,
        meta_endpoints,
        pixel.id,
        data={"data": json.dumps([_event()]), "access_token": creds.access_token},
    )
    assert form.status_code == 200 and form.json()["events_received"] == 1 and form.json()["messages"] == []
    multi = await _post(
        sandbox_http,
        meta_endpoints,
        pixel.id,
        files={
            "data": (None, json.dumps([_event(event_id="E2")])),
            "access_token": (None, creds.access_token),
            "test_event_code": (None, "TEST1"),
        },
    )
    assert multi.status_code == 200
    assert [e["event_id"] for e in sandbox_state.received["meta_ads"]] == ["E1", "E2"]
    assert sandbox_state.received["meta_ads"][1]["test_event_code"] == "TEST1"
    for name in ("x-business-use-case-usage", "x-ad-account-usage", "x-app-usage"):
        assert isinstance(json.loads(multi.headers[name]), dict)


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"user_data": {"em": ["jane@example.com"]}}, "SHA-256"),
        ({"action_source": "website"}, "client_user_agent"),
        ({"action_source": "billboard"}, "action_source"),
        ({"event_time": int(NOW.timestamp() * 1000)}, "milliseconds"),
        ({"event_name": "Purchase"}, "currency"),
    ],
)
async def test_events_reject_invalid_batches(
    sandbox_http: httpx.AsyncClient,
    meta_endpoints: MetaEndpoints,
    creds: Credentials,
    pixel: ConversionAction,
    sandbox_state: SandboxState,
    bad: dict,
    words: str,
) -> None:
    answer = await _post(
        sandbox_http,
        meta_endpoints,
        pixel.id,
        json={"data": [_event(event_id="ok"), _event(**bad)]},
        headers={"Authorization": f"Bearer {creds.access_token}"},
    )
    error = answer.json()["error"]
    assert answer.status_code == 400 and error["code"] == 100 and error["type"] == "OAuthException"
    assert words in error["error_user_msg"] and "index 1" in error["error_user_msg"] and error["error_subcode"]
    assert sandbox_state.received["meta_ads"] == []


async def test_events_refuse_more_than_1000(
    sandbox_http: httpx.AsyncClient, meta_endpoints: MetaEndpoints, creds: Credentials, pixel: ConversionAction
) -> None:
    answer = await _post(
        sandbox_http,
        meta_endpoints,
        pixel.id,
        params={"access_token": creds.access_token},
        json={"data": [_event(event_id=str(i)) for i in range(1001)]},
    )
    assert answer.status_code == 400 and answer.json()["error"]["error_user_title"] == "Too Many Events"


async def test_events_to_an_unknown_pixel(
    sandbox_http: httpx.AsyncClient, meta_endpoints: MetaEndpoints, creds: Credentials
) -> None:
    answer = await _post(
        sandbox_http,
        meta_endpoints,
        "1",
        json={"data": [_event()]},
        headers={"Authorization": f"Bearer {creds.access_token}"},
    )
    assert answer.status_code == 400 and answer.json()["error"]["error_subcode"] == 33
