"""Conversion push through the Data Manager API: actions, ingest, fast-fail rejections, verdicts, faults."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from routy_app.providers.errors import PermanentError, RateLimited, TransientError
from routy_app.providers.google_ads.adapter import GoogleAdsProvider
from routy_app.providers.google_ads.conversions import NOT_PROCESSED
from routy_app.providers.hashing import hash_email_google, hash_phone_google
from routy_app.providers.values import Account, ConversionAction, Credentials, OutgoingConversion
from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.google import ads_data
from tests.integration.factories import google, google_creds  # noqa: F401 - fixtures

US, MANAGER, DE = "1234567890", "9000000001", "5550000001"


@pytest.fixture
async def us(google: GoogleAdsProvider, creds: Credentials) -> Account:
    return next(a for a in await google.list_accounts(creds) if a.id == US)


@pytest.fixture
async def purchase(google: GoogleAdsProvider, creds: Credentials, us: Account) -> ConversionAction:
    """The live action as a mapping hands it to the adapter: with the mapping's eventSource choice."""
    return _mapped(next(a for a in await google.list_conversion_actions(creds, us) if a.name == "CRM purchase"))


def _mapped(action: ConversionAction, event_source: str = "WEB") -> ConversionAction:
    """An action as a mapping hands it to the adapter (with the mapping's eventSource choice)."""
    return dataclasses.replace(action, extra={**action.extra, "event_source": event_source})


def _conv(key: str, action: ConversionAction, **kw) -> OutgoingConversion:
    defaults = {
        "event_type": "purchase",
        "occurred_at": dt.datetime.now(dt.UTC) - dt.timedelta(hours=3),
        "value_micros": 129_900_000,
        "currency": "USD",
        "gclid": f"Cj0KCQ-{key}",
        "consent_ad_user_data": "granted",
        "consent_ad_personalization": "denied",
    }
    return OutgoingConversion(key=key, action=action, **{**defaults, **kw})


async def _final(google: GoogleAdsProvider, creds: Credentials, request_id: str):
    first = await google.check_verdict(creds, request_id)
    assert first.status == "PROCESSING" and not first.done and first.error_counts == {}
    final = await google.check_verdict(creds, request_id)
    assert final.done
    return final


async def test_only_enabled_upload_clicks_actions_are_listed(
    google: GoogleAdsProvider, creds: Credentials, us: Account
) -> None:
    actions = await google.list_conversion_actions(creds, us)
    assert [(a.name, a.kind) for a in actions] == [
        ("CRM purchase", "UPLOAD_CLICKS"),
        ("Qualified lead", "UPLOAD_CLICKS"),
    ]
    assert actions[0].id.isdigit() and actions[0].extra["category"] == "PURCHASE"
    assert actions[0].extra["resource_name"] == f"customers/{US}/conversionActions/{actions[0].id}"


async def test_push_then_verdict_processing_then_partial_success(
    google: GoogleAdsProvider, creds: Credentials, us: Account, purchase: ConversionAction, sandbox_state: SandboxState
) -> None:
    batch = [
        _conv(
            "ORD-1",
            purchase,
            email_sha256=hash_email_google("Cloudy.SF+shop@gmail.com"),
            phone_sha256=hash_phone_google("+1 (415) 555-0123"),
            user_agent="Mozilla/5.0",
            ip="203.0.113.7",
        ),
        _conv("ORD-2", purchase, gclid="bad-click"),
        _conv("ORD-3", purchase, gclid=None, email_sha256=hash_email_google("jane@example.com")),
    ]
    results = await google.push_conversions(creds, us, batch)
    assert [r.status for r in results] == ["sent", "sent", "sent"]
    request_id = results[0].request_id
    assert request_id and all(r.request_id == request_id for r in results)

    received = sandbox_state.received["google_ads"]
    assert [e["transactionId"] for e in received] == ["ORD-1", "ORD-2", "ORD-3"]
    first = received[0]
    assert first["destination"] == {
        "operatingAccount": US,
        "loginAccount": None,
        "productDestinationId": purchase.id,
        "conversionAction": "CRM purchase",
    }
    assert first["gclid"] == "Cj0KCQ-ORD-1" and first["requestId"] == request_id and first["dedupKey"] == "ORD-1"
    assert first["conversionValue"] == 129.9 and first["currency"] == "USD"
    assert first["consent"] == {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_DENIED"}
    assert first["userIdentifiers"] == [
        {"emailAddress": hash_email_google("cloudysf@gmail.com")},
        {"phoneNumber": hash_phone_google("+14155550123")},
    ]
    assert first["eventTimestamp"].endswith("Z")

    verdict = await _final(google, creds, request_id)
    assert verdict.status == "PARTIAL_SUCCESS" and verdict.record_count == 3
    assert verdict.error_counts == {"PROCESSING_ERROR_REASON_CLICK_NOT_FOUND": 1}


async def test_resent_transaction_id_is_a_duplicate_across_requests(
    google: GoogleAdsProvider, creds: Credentials, us: Account, purchase: ConversionAction
) -> None:
    first = await google.push_conversions(creds, us, [_conv("ORD-9", purchase)])
    assert (await _final(google, creds, first[0].request_id or "")).status == "SUCCESS"
    again = await google.push_conversions(creds, us, [_conv("ORD-9", purchase), _conv("ORD-10", purchase)])
    verdict = await _final(google, creds, again[0].request_id or "")
    assert verdict.status == "PARTIAL_SUCCESS"
    assert verdict.error_counts == {"PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID": 1}


async def test_client_account_is_pushed_through_its_manager(
    google: GoogleAdsProvider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    de = next(a for a in await google.list_accounts(creds) if a.id == DE)
    action = _mapped((await google.list_conversion_actions(creds, de))[0])
    results = await google.push_conversions(creds, de, [_conv("DE-1", action, currency="eur")])
    assert results[0].status == "sent"
    event = sandbox_state.received["google_ads"][-1]
    assert event["destination"]["operatingAccount"] == DE and event["destination"]["loginAccount"] == MANAGER
    assert event["currency"] == "EUR"
    orphan = Account(id=DE, name="Shop DE", currency="EUR", timezone="Europe/Berlin")  # no login_customer_id
    with pytest.raises(PermanentError) as exc:
        await google.push_conversions(creds, orphan, [_conv("DE-2", action)])
    assert exc.value.status_code == 403


async def test_a_bad_event_rejects_the_whole_request(
    google: GoogleAdsProvider, creds: Credentials, us: Account, purchase: ConversionAction, sandbox_state: SandboxState
) -> None:
    batch = [_conv("OK-1", purchase), _conv("BAD-1", purchase, email_sha256="not-a-sha256"), _conv("OK-2", purchase)]
    results = await google.push_conversions(creds, us, batch)
    assert [r.status for r in results] == ["failed", "failed", "failed"]
    assert "INVALID_HEX_ENCODING at events[1].user_data.user_identifiers[0]" in (results[1].error or "")
    assert results[0].error == results[2].error == NOT_PROCESSED
    assert all(r.request_id is None for r in results)
    assert sandbox_state.received["google_ads"] == []  # nothing was ingested


async def test_webpage_actions_cannot_receive_uploads(
    google: GoogleAdsProvider, creds: Credentials, us: Account
) -> None:
    webpage = next(a for a in ads_data.conversion_actions(42, US) if a["conversion_action.type"] == "WEBPAGE")
    action = ConversionAction(
        id=str(webpage["conversion_action.id"]),
        name="Website purchase (tag)",
        kind="WEBPAGE",
        extra={"event_source": "WEB"},
    )
    results = await google.push_conversions(creds, us, [_conv("W-1", action), _conv("W-2", action)])
    assert all(r.status == "failed" and "INVALID_CONVERSION_ACTION_TYPE" in (r.error or "") for r in results)


async def test_events_without_identifiers_are_skipped_and_batches_are_capped(
    google: GoogleAdsProvider, creds: Credentials, us: Account, purchase: ConversionAction
) -> None:
    results = await google.push_conversions(creds, us, [_conv("N-1", purchase, gclid=None), _conv("N-2", purchase)])
    assert [r.status for r in results] == ["skipped", "sent"]  # in batch order: N-1, N-2
    with pytest.raises(ValueError):
        await google.push_conversions(creds, us, [_conv(f"K-{i}", purchase) for i in range(2001)])


async def test_validate_only_stores_nothing(
    google: GoogleAdsProvider, creds: Credentials, us: Account, purchase: ConversionAction, sandbox_state: SandboxState
) -> None:
    results = await google.push_conversions(creds, us, [_conv("V-1", purchase)], validate_only=True)
    assert results[0].status == "sent" and results[0].request_id is None and "validat" in (results[0].response or "")
    assert sandbox_state.received["google_ads"] == []
    unknown = await google.check_verdict(creds, "no-such-request")  # Google answers INVALID_REQUEST_ID
    assert unknown.status == "REQUEST_STATUS_UNKNOWN" and unknown.detail and unknown.done
    assert google.describe_verdict(unknown)[0] == "unknown"


async def test_wire_validation(
    google_endpoints,
    sandbox_http,
    creds: Credentials,
    us: Account,
    purchase: ConversionAction,
) -> None:
    url = f"{google_endpoints.datamanager_base_url}/v1/events:ingest"
    headers = {"Authorization": f"Bearer {creds.access_token}"}
    dest = {
        "reference": "d0",
        "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": US},
        "productDestinationId": purchase.id,
    }
    event = {
        "transactionId": "T-1",
        "eventTimestamp": "2026-06-10T20:07:01Z",
        "adIdentifiers": {"gclid": "abc"},
        "eventSource": "WEB",
    }

    async def violations(body: dict) -> list[tuple[str, str | None]]:
        resp = await sandbox_http.post(url, json=body, headers=headers)
        assert resp.status_code == 400, resp.text
        details = resp.json()["error"]["details"]
        bad = next(d for d in details if d["@type"].endswith("google.rpc.BadRequest"))
        assert any(d["@type"].endswith("google.rpc.ErrorInfo") and d["metadata"]["requestId"] for d in details)
        return [(v["field"], v.get("reason")) for v in bad["fieldViolations"]]

    assert await violations({"destinations": [dest], "events": [event] * 2001}) == [("events", "TOO_MANY_EVENTS")]
    consent = {**event, "consent": {"adUserData": "GRANTED"}}
    assert await violations({"destinations": [dest], "events": [event, consent]}) == [
        ("events[1].consent.ad_user_data", None)
    ]
    with_user = {**event, "userData": {"userIdentifiers": [{"emailAddress": "a" * 64}]}}
    assert await violations({"destinations": [dest], "events": [with_user]}) == [("encoding", "REQUIRED_FIELD_MISSING")]
    bare = {"eventTimestamp": "2026-06-10T20:07:01Z", "eventSource": "WEB"}
    assert await violations({"destinations": [dest], "events": [event, bare]}) == [
        ("events[1]", "NO_IDENTIFIERS_PROVIDED")
    ]
    dashed = {**dest, "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "123-456-7890"}}
    assert await violations({"destinations": [dashed], "events": [event]}) == [
        ("destinations[0].operating_account.account_id", "INVALID_NUMBER_FORMAT")
    ]
    other = {**dest, "productDestinationId": "999"}
    assert await violations({"destinations": [other], "events": [event]}) == [
        ("destinations[0].product_destination_id", "INVALID_CONVERSION_ACTION_ID")
    ]
    ok = await sandbox_http.post(
        url, json={"destinations": [dest], "events": [event], "validateOnly": True}, headers=headers
    )
    assert ok.status_code == 200
    status = await sandbox_http.get(
        f"{google_endpoints.datamanager_base_url}/v1/requestStatus:retrieve",
        params={"requestId": ok.json()["requestId"]},
        headers=headers,
    )
    assert status.status_code == 400 and "INVALID_REQUEST_ID" in status.text


async def test_every_event_carries_an_event_source(
    google: GoogleAdsProvider, creds: Credentials, us: Account, purchase: ConversionAction, sandbox_state: SandboxState
) -> None:
    """Data Manager v1.2 (2025-08-06): event_source is required for offline conversions."""
    phone_mapping = dataclasses.replace(purchase, extra={**purchase.extra, "event_source": "PHONE"})
    unset = dataclasses.replace(purchase, extra={k: v for k, v in purchase.extra.items() if k != "event_source"})
    batch = [
        _conv("ORD-ES", purchase),
        _conv("ORD-CALL", phone_mapping),
        _conv("ORD-STORE", phone_mapping, origin="in_store"),
        _conv("ORD-NONE", unset),
    ]
    results = await google.push_conversions(creds, us, batch)
    assert [r.status for r in results] == ["sent", "sent", "sent", "skipped"]
    assert "No event source" in (results[3].error or "")
    assert [(e["transactionId"], e["eventSource"]) for e in sandbox_state.received["google_ads"]] == [
        ("ORD-ES", "WEB"),
        ("ORD-CALL", "PHONE"),
        ("ORD-STORE", "IN_STORE"),
    ]


async def test_offline_conversions_without_event_source_are_refused(
    google_endpoints,
    sandbox_http,
    creds: Credentials,
    purchase: ConversionAction,
) -> None:
    url = f"{google_endpoints.datamanager_base_url}/v1/events:ingest"
    dest = {
        "reference": "d0",
        "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": US},
        "productDestinationId": purchase.id,
    }
    event = {"transactionId": "T-1", "eventTimestamp": "2026-06-10T20:07:01Z", "adIdentifiers": {"gclid": "abc"}}
    answer = await sandbox_http.post(
        url, json={"destinations": [dest], "events": [event]}, headers={"Authorization": f"Bearer {creds.access_token}"}
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    bad = next(d for d in error["details"] if d["@type"].endswith("google.rpc.BadRequest"))
    assert [(v["field"], v["reason"]) for v in bad["fieldViolations"]] == [
        ("events[0].event_source", "REQUIRED_FIELD_MISSING")
    ]


async def test_denied_consent_comes_back_in_the_verdict(
    google: GoogleAdsProvider, creds: Credentials, us: Account, purchase: ConversionAction
) -> None:
    results = await google.push_conversions(creds, us, [_conv("C-1", purchase, consent_ad_user_data="denied")])
    verdict = await _final(google, creds, results[0].request_id or "")
    assert verdict.status == "FAILED" and verdict.error_counts == {"PROCESSING_ERROR_REASON_DENIED_CONSENT": 1}


# ---------------------------------------------------------------- faults


async def test_ingest_faults(
    google: GoogleAdsProvider, creds: Credentials, us: Account, purchase: ConversionAction, sandbox_state: SandboxState
) -> None:
    for condition in ("quota_429", "http_500", "http_503", "malformed", "expired_token", "unauthenticated_no_details"):
        sandbox_state.faults.add("datamanager.ingest", condition)
        results = await google.push_conversions(creds, us, [_conv(f"F-{condition}", purchase)])
        assert results[0].status == "sent", condition  # retried (or refreshed) and then accepted
    assert sandbox_state.faults.pending() == []
    assert len(sandbox_state.received["google_ads"]) == 6

    sandbox_state.faults.add("datamanager.ingest", "http_500", times=10)
    with pytest.raises(TransientError):
        await google.push_conversions(creds, us, [_conv("F-x", purchase)])
    sandbox_state.faults.clear()
    sandbox_state.faults.add("datamanager.ingest", "daily_quota", times=10)
    with pytest.raises(RateLimited) as exc:
        await google.push_conversions(creds, us, [_conv("F-y", purchase)])
    assert exc.value.code == "RATE_LIMIT_EXCEEDED" and (exc.value.retry_after or 0) > 0
    sandbox_state.faults.clear()
    sandbox_state.faults.add("datamanager.ingest", "wrong_login_customer")
    with pytest.raises(PermanentError):
        await google.push_conversions(creds, us, [_conv("F-z", purchase)])


async def test_status_faults(
    google: GoogleAdsProvider, creds: Credentials, us: Account, purchase: ConversionAction, sandbox_state: SandboxState
) -> None:
    results = await google.push_conversions(creds, us, [_conv("S-1", purchase), _conv("S-2", purchase)])
    request_id = results[0].request_id or ""
    sandbox_state.faults.add("datamanager.status", "http_503")
    sandbox_state.faults.add(
        "datamanager.status", "partial_failure", reason="PROCESSING_ERROR_REASON_EVENT_TOO_OLD", count=1
    )
    verdict = await google.check_verdict(creds, request_id)
    assert verdict.status == "PARTIAL_SUCCESS" and verdict.record_count == 2
    assert verdict.error_counts == {"PROCESSING_ERROR_REASON_EVENT_TOO_OLD": 1}
    assert (await google.check_verdict(creds, request_id)).status == "PARTIAL_SUCCESS"  # the verdict sticks
