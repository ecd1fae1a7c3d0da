"""The Google adapter's per-event payload building (cheap path) stays byte-for-byte what it was."""

from __future__ import annotations

import datetime as dt
import json
import random
import zoneinfo

import pytest

from routy_app.providers.google_ads.conversions import event as google_event
from routy_app.providers.google_ads.conversions import timestamp as _timestamp
from routy_app.providers.values import ConversionAction, OutgoingConversion


def _old_timestamp(moment: dt.datetime) -> str:  # the previous strftime implementation
    moment = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 5, 1, 14, 3, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 5, 1, 14, 3, 0, 120, tzinfo=dt.UTC),
        dt.datetime(2026, 5, 1, 14, 3, 0, 999999),  # naive: taken as UTC
        dt.datetime(2026, 5, 1, 23, 30, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=-7, minutes=-30))),
        dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=zoneinfo.ZoneInfo("Europe/London")),  # zero offset, not utc
        dt.datetime(2026, 7, 1, 0, 0, 1, 5, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")),  # crosses midnight
        dt.datetime(999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
    ],
)
def test_timestamp_matches_the_strftime_format(moment: dt.datetime) -> None:
    assert _timestamp(moment) == _old_timestamp(moment)


def test_timestamp_fast_path_matches_the_strftime_format_on_random_utc_values() -> None:
    rng = random.Random(7)
    start, span = dt.datetime(1000, 1, 1, tzinfo=dt.UTC), (dt.datetime(9999, 12, 31) - dt.datetime(1000, 1, 1))
    for _ in range(5000):
        moment = start + dt.timedelta(seconds=rng.randrange(int(span.total_seconds())))
        moment = moment.replace(microsecond=rng.choice([0, rng.randrange(1, 1_000_000)]))
        assert _timestamp(moment) == _old_timestamp(moment), moment


def _conv(**fields) -> OutgoingConversion:
    base = {
        "key": "1:ord-1",
        "event_type": "sale",
        "action": ConversionAction(id="customers/1/conversionActions/77", name="Buy", extra={"event_source": "WEB"}),
        "occurred_at": dt.datetime(2026, 5, 1, 14, 3, 0, 5, tzinfo=dt.UTC),
    }
    return OutgoingConversion(**{**base, **fields})


event_of = google_event


def test_event_with_every_optional_part() -> None:
    event = event_of(
        _conv(
            value_micros=12_340_000,
            currency="usd",
            gclid="G",
            gbraid="B",
            wbraid="W",
            user_agent="UA",
            ip="1.2.3.4",
            email_sha256="e" * 64,
            phone_sha256="f" * 64,
            consent_ad_user_data="granted",
            consent_ad_personalization="denied",
        ),
        "d0",
    )
    assert json.dumps(event) == json.dumps(
        {
            "destinationReferences": ["d0"],
            "transactionId": "1:ord-1",
            "eventTimestamp": "2026-05-01T14:03:00.000005Z",
            "eventSource": "WEB",
            "conversionValue": 12.34,
            "currency": "USD",
            "adIdentifiers": {
                "gclid": "G",
                "gbraid": "B",
                "wbraid": "W",
                "landingPageDeviceInfo": {"userAgent": "UA", "ipAddress": "1.2.3.4"},
            },
            "userData": {"userIdentifiers": [{"emailAddress": "e" * 64}, {"phoneNumber": "f" * 64}]},
            "consent": {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_DENIED"},
        }
    )


def test_event_leaves_out_what_is_absent() -> None:
    assert event_of(_conv(email_sha256="e" * 64, ip="1.2.3.4", consent_ad_user_data="maybe"), ["d3"]) == {
        "destinationReferences": ["d3"],
        "transactionId": "1:ord-1",
        "eventTimestamp": "2026-05-01T14:03:00.000005Z",
        "eventSource": "WEB",
        "adIdentifiers": {"landingPageDeviceInfo": {"ipAddress": "1.2.3.4"}},
        "userData": {"userIdentifiers": [{"emailAddress": "e" * 64}]},
    }
    assert event_of(_conv(value_micros=0, currency="EUR", gclid="G"), "d0")["conversionValue"] == 0.0


def test_event_source_is_the_conversions_origin_else_the_mappings_choice() -> None:
    phone = ConversionAction(id="77", name="Calls", extra={"event_source": "PHONE"})
    assert event_of(_conv(action=phone, gclid="G"), "d0")["eventSource"] == "PHONE"
    assert event_of(_conv(action=phone, gclid="G", origin="in_store"), "d0")["eventSource"] == "IN_STORE"
    assert event_of(_conv(action=phone, gclid="G", origin="app"), "d0")["eventSource"] == "APP"
