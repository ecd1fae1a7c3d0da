"""GA4 naming rules: the adapter's form/mapping checks and the emulator's validation server agree."""

from __future__ import annotations

import json
import time

import pytest

from routy_app.providers.ga4.events import validate_event_name
from routy_app.providers.ga4.setup import validate_measurement_id
from routy_app.sandbox.ga4.mp_validation import validate_payload


@pytest.mark.parametrize("value", ["G-ROUTY12345", "G-AB12CD34EF", "G-1"])
def test_measurement_id_accepts_web_stream_ids(value: str) -> None:
    assert validate_measurement_id(value) is None


@pytest.mark.parametrize(
    "value", ["", "G-", "g-AB12CD34EF", "G-ab12", "UA-12345-1", "1234567890", "G-AB 12", " G-AB12", "G-AB12-"]
)
def test_measurement_id_rejects_other_shapes_and_names_the_format(value: str) -> None:
    message = validate_measurement_id(value)
    assert message is not None and "G-" in message


@pytest.mark.parametrize("name", ["purchase", "generate_lead", "Lead2", "a" * 40, "close_convert_lead"])
def test_event_name_accepts_valid_names(name: str) -> None:
    assert validate_event_name(name) is None


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "Enter"),
        ("a" * 41, "40"),
        ("2fast", "start with a letter"),
        ("has-dash", "letters, digits and underscores"),
        ("with space", "letters, digits and underscores"),
        ("_private", "start with a letter"),
        ("session_start", "reserved"),
        ("first_visit", "reserved"),
        ("ga_custom", "reserved"),
        ("google_thing", "reserved"),
        ("firebase_x", "reserved"),
    ],
)
def test_event_name_rejections_say_why(name: str, fragment: str) -> None:
    message = validate_event_name(name)
    assert message is not None and fragment in message


def _codes(body: dict, query: dict | None = None) -> list[str]:
    query = query if query is not None else {"measurement_id": "G-ROUTY12345", "api_secret": "x"}
    return [m["validationCode"] for m in validate_payload(query, json.dumps(body).encode())]


def test_emulator_accepts_a_minimal_valid_request() -> None:
    body = {"client_id": "1.2", "events": [{"name": "purchase", "params": {"value": 1, "currency": "EUR"}}]}
    assert _codes(body) == []


def test_emulator_validation_codes() -> None:
    now = int(time.time() * 1_000_000)
    assert _codes({"events": [{"name": "x"}]}) == ["VALUE_REQUIRED"]
    assert _codes({"client_id": "1.2"}) == ["VALUE_REQUIRED"]
    assert _codes({"client_id": "1.2", "events": [{"name": "x"}] * 26}) == ["EXCEEDED_MAX_ENTITIES"]
    assert _codes({"client_id": "1.2", "events": [{"name": "_bad"}]}) == ["NAME_INVALID"]
    assert _codes({"client_id": "1.2", "events": [{"name": "session_start"}]}) == ["NAME_RESERVED"]
    assert _codes({"client_id": "1.2", "events": [{"name": "ok", "params": {"ga_x": 1}}]}) == ["NAME_RESERVED"]
    assert _codes({"client_id": "1.2", "events": [{"name": "ok", "params": {"p": "v" * 101}}]}) == [
        "VALUE_OUT_OF_BOUNDS"
    ]
    assert _codes({"client_id": "1.2", "events": [{"name": "ok", "params": {f"p{i}": i for i in range(26)}}]}) == [
        "EXCEEDED_MAX_ENTITIES"
    ]
    assert _codes(
        {"client_id": "1.2", "timestamp_micros": now - 73 * 3600 * 1_000_000, "events": [{"name": "ok"}]}
    ) == ["VALUE_OUT_OF_BOUNDS"]
    assert _codes({"client_id": "1.2", "consent": {"ad_user_data": "YES"}, "events": [{"name": "ok"}]}) == [
        "VALUE_INVALID"
    ]
    assert _codes({"client_id": "1.2", "events": [{"name": "ok"}]}, {"measurement_id": "UA-1"}) == ["VALUE_INVALID"]


def test_emulator_never_checks_the_api_secret() -> None:
    body = {"client_id": "1.2", "events": [{"name": "purchase"}]}
    assert _codes(body, {"measurement_id": "G-ROUTY12345", "api_secret": "wrong"}) == []
    assert _codes(body, {"measurement_id": "G-ROUTY12345"}) == []
