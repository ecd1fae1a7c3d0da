"""Validation of incoming conversion events (services/conversions.py), no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from routy_app.providers import hashing
from routy_app.services.conversions import (
    ValidationFailed,
    parse_timestamp,
    parse_value,
    postback_event,
    postback_params,
    validate_event,
)
from routy_app.services.push import dedup_key

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
GOOD = {
    "id": "ord-1",
    "event_type": "sale",
    "occurred_at": "2026-05-01T10:00:00+02:00",
    "value": Decimal("19.99"),
    "currency": "USD",
    "gclid": "Cj0KCQ-abc",
}


def fields(raw: dict, **overrides) -> set[str]:
    _, errors = validate_event({**raw, **overrides}, 0, NOW)
    return {e.field for e in errors}


def test_a_good_event_becomes_column_values():
    out, errors = validate_event(GOOD, 0, NOW)
    assert errors == []
    assert out["external_id"] == "ord-1" and out["value_micros"] == 19_990_000 and out["currency"] == "USD"
    assert out["occurred_at"] == dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    assert out["gclid"] == "Cj0KCQ-abc" and out["fbc"] is None


@pytest.mark.parametrize(
    "override, field",
    [
        ({"id": ""}, "id"),
        ({"id": "x" * 201}, "id"),
        ({"event_type": "Sale"}, "event_type"),
        ({"event_type": "sale-1"}, "event_type"),
        ({"event_type": "s" * 65}, "event_type"),
        ({"occurred_at": "2026-05-01T10:00:00"}, "occurred_at"),  # naive
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2026-05-01T13:00:00Z"}, "occurred_at"),  # an hour in the future
        ({"value": "abc"}, "value"),
        ({"value": "-1"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"currency": "usd"}, "currency"),
        ({"currency": None}, "currency"),  # value given without currency
        ({"email": "not-an-email"}, "email"),
        ({"phone": "415 555 0123"}, "phone"),  # no +country code
        ({"ip": "300.1.1.1"}, "ip"),
        ({"consent": {"ad_user_data": "yes"}}, "consent.ad_user_data"),
        ({"consent": {"ad_storage": "granted"}}, "consent.ad_storage"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
    ],
)
def test_each_bad_field_is_named(override, field):
    assert field in fields(GOOD, **override)


def test_small_clock_skew_is_accepted():
    assert fields(GOOD, occurred_at="2026-05-01T12:03:00Z") == set()


def test_value_is_decimal_exact_and_never_float():
    assert parse_value(Decimal("0.1")) == (100_000, None)
    assert parse_value("1234567.123456") == (1_234_567_123_456, None)
    assert parse_value(0.1)[0] == 100_000  # a stray float goes through its repr, not binary arithmetic


def test_timestamp_z_and_offsets():
    assert parse_timestamp("2026-05-01T10:00:00Z", NOW)[0] == dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC)
    assert parse_timestamp("2026-05-01T01:00:00-10:00", NOW)[0].hour == 11
    assert "offset" in parse_timestamp("2026-05-01 10:00:00", NOW)[1]


def test_email_and_phone_are_hashed_per_provider_and_not_kept():
    out, errors = validate_event({**GOOD, "email": " John.Doe+x@Gmail.com ", "phone": "+1 (415) 555-0123"}, 0, NOW)
    assert errors == []
    assert out["email_sha256"] == hashing.sha256_hex("johndoe@gmail.com")
    assert out["email_sha256_meta"] == hashing.sha256_hex("john.doe+x@gmail.com")
    assert out["phone_sha256"] == hashing.sha256_hex("+14155550123")
    assert out["phone_sha256_meta"] == hashing.sha256_hex("14155550123")
    assert "email" not in out and "phone" not in out
    assert not any("john" in str(v).lower() for v in out.values())


def test_errors_never_echo_personal_data():
    _, errors = validate_event({**GOOD, "email": "secret-person@", "phone": "555-SECRET"}, 3, NOW)
    assert {e.index for e in errors} == {3}
    assert not any("secret" in e.message.lower() for e in errors)


def test_postback_assigns_click_ids_by_shape_and_is_deterministic():
    google = postback_event({"key": "k", "event": "lead", "click_id": "Cj0KCQabc"}, NOW)
    meta = postback_event({"key": "k", "event": "lead", "click_id": "fb.1.1554763741205.AbCd"}, NOW)
    braid = postback_event({"key": "k", "event": "lead", "click_id": "xyz", "click_id_type": "wbraid"}, NOW)
    assert google["gclid"] == "Cj0KCQabc" and meta["fbc"].startswith("fb.") and braid["wbraid"] == "xyz"
    assert google["id"] == postback_event({"key": "k", "event": "lead", "click_id": "Cj0KCQabc"}, NOW)["id"]
    assert (
        google["id"] != postback_event({"key": "k", "event": "lead", "click_id": "Cj0KCQabc", "value": "2"}, NOW)["id"]
    )


def test_dedup_key_is_stable_and_short_enough_for_every_provider():
    assert dedup_key(1, "ord-1") == "1:ord-1"
    long_key = dedup_key(1, "x" * 200)
    assert long_key == dedup_key(1, "x" * 200) and len(long_key) <= 100 and long_key != dedup_key(1, "y" * 200)


# ---------------------------------------------------------------- issue 12, item 9: invisible characters


@pytest.mark.parametrize(
    "char",
    ["\x7f", "\x85", "\x9b", "\u202e", "\u202d", "\u2066", "\u2069", "\u200f", "\u061c", "\x00", "\x1b", "\ud800"],
)
@pytest.mark.parametrize("field", ["id", "user_agent", "gclid", "fbc", "ga_client_id"])
def test_control_direction_and_surrogate_characters_are_refused(field, char):
    assert fields(GOOD, **{field: f"abc{char}def"}) == {field}


@pytest.mark.parametrize(
    "field, value",
    [
        ("email", "buyer\u202e@example.com"),
        ("email", "b\ud800@example.com"),
        ("phone", "+1415\u202e5550123"),
        ("ip", "fe80::1%eth0"),
    ],
)
def test_identifiers_with_hidden_characters_are_refused(field, value):
    assert fields(GOOD, **{field: value}) == {field}


def test_postback_text_is_checked_the_same_way():
    event = postback_event({"key": "k", "event": "sale", "id": "pb-\u202egpj.exe", "click_id": "abc"}, NOW)
    assert fields(event) == {"id"}


def test_ordinary_unicode_still_passes():
    assert fields(GOOD, id="Bestellung-Müller-😀", user_agent="Mozilla/5.0 (Linux; Android 14) Löwe") == set()


# ---------------------------------------------------------------- attack report F8: format characters, U+FFFD

INVISIBLE = [
    "\u200b",  # zero-width space (Cf)
    "\u200d",  # zero-width joiner (Cf)
    "\u2060",  # word joiner (Cf)
    "\ufeff",  # byte-order mark (Cf)
    "\U000e0041",  # tag character (Cf)
    "\u00ad",  # soft hyphen (Cf)
    "\u2028",  # line separator (Zl)
    "\u2029",  # paragraph separator (Zp)
    "\ue000",  # private use (Co)
    "\U000f0000",  # supplementary private use (Co)
    "\U0010fffd",
    "\ufffe",  # noncharacter (Cn)
    "\U0001fffe",  # noncharacter (Cn)
    "\ufffd",  # replacement character: bytes that were not UTF-8
]


@pytest.mark.parametrize("char", INVISIBLE)
@pytest.mark.parametrize("field", ["id", "user_agent", "gclid", "fbp", "ga_client_id"])
def test_format_separator_private_and_replacement_characters_are_refused(field, char):
    assert fields(GOOD, **{field: f"abc{char}def"}) == {field}


@pytest.mark.parametrize("field, value", [("email", "buyer\u200b@example.com"), ("phone", "+1415\ufeff5550123")])
def test_identifiers_with_format_characters_are_refused(field, value):
    assert fields(GOOD, **{field: value}) == {field}


def test_the_refusal_names_the_code_point():
    _, errors = validate_event({**GOOD, "id": "a\u200bb"}, now=NOW)
    assert [(e.field, e.message) for e in errors] == [("id", "contains an invisible format character (U+200B)")]
    _, errors = validate_event({**GOOD, "id": "a\ufffdb"}, now=NOW)
    assert "U+FFFD" in errors[0].message


def test_letters_symbols_and_emoji_of_every_plane_still_pass():
    for text in ["Zoë-Ångström", "東京-注文-42", "заказ-№5", "طلب-٣", "ord-😀-🎉-🀄", "𝒳-𐍈", "a\u00a0b", "x\u0301"]:
        assert fields(GOOD, id=text, user_agent=f"UA {text}") == set(), text


def test_postback_query_with_invalid_utf8_is_refused_naming_the_parameter():
    with pytest.raises(ValidationFailed) as refused:
        postback_params(b"key=k&event=sale&id=%FF%FE")
    assert [e.field for e in refused.value.errors] == ["id"]
    with pytest.raises(ValidationFailed) as refused:
        postback_params(b"key=k&event=sale&email=%ED%A0%80@x.com")  # an encoded surrogate is not UTF-8 either
    assert [e.field for e in refused.value.errors] == ["email"]


def test_postback_query_decodes_like_starlette_otherwise():
    assert postback_params(b"key=k&id=a+b%20c&id=2&n=%C3%A9%F0%9F%98%80&blank") == {
        "key": "k",
        "id": "2",
        "n": "é😀",
        "blank": "",
    }


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_moment_outside_the_utc_calendar_is_refused_not_an_overflow(moment):
    moment_value, problem = parse_timestamp(moment, NOW)
    assert moment_value is None and "outside" in problem


def test_origin_says_where_the_conversion_happened():
    assert validate_event(GOOD, 0, NOW)[0]["origin"] is None
    assert validate_event({**GOOD, "origin": "In_Store"}, 0, NOW)[0]["origin"] == "in_store"
    assert fields(GOOD, origin="shop") == {"origin"}
    assert fields(GOOD, origin=3) == {"origin"}
    assert postback_event({"event": "call", "click_id": "Cj0", "origin": "phone", "id": "c-1"})["origin"] == "phone"
