"""Normalise-then-hash rules, checked on the providers' documented examples (docs/providers/)."""

from __future__ import annotations

import hashlib

import pytest

from routy_app.providers.hashing import (
    hash_email_google,
    hash_email_meta,
    hash_phone_google,
    hash_phone_meta,
    normalize_email_google,
    normalize_email_meta,
    normalize_phone_e164,
    normalize_phone_meta,
    sha256_hex,
)


def test_sha256_hex_is_lowercase_64_hex_of_utf8() -> None:
    assert sha256_hex("cloudysf@gmail.com") == hashlib.sha256(b"cloudysf@gmail.com").hexdigest()
    assert sha256_hex("müller@example.de") == hashlib.sha256("müller@example.de".encode()).hexdigest()
    assert len(sha256_hex("x")) == 64


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("cloudy.sf+shop@gmail.com", "cloudysf@gmail.com"),
        ("  Cloudy.SF+Shop@GoogleMail.com ", "cloudysf@googlemail.com"),
        ("Jane Doe@Example.com", "janedoe@example.com"),  # all whitespace removed
        ("jane.doe+news@example.com", "jane.doe+news@example.com"),  # other domains keep dots and plus tags
    ],
)
def test_google_email_normalisation(raw: str, expected: str) -> None:
    assert normalize_email_google(raw) == expected


@pytest.mark.parametrize("raw", ["", None, "no-at-sign", "@gmail.com", "+tag@gmail.com"])
def test_google_email_rejects_unusable_input(raw: str | None) -> None:
    assert normalize_email_google(raw) is None
    assert hash_email_google(raw) is None


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 (415) 555-0123", None, "+14155550123"),
        ("(800)555-0100", "US", "+18005550100"),
        ("1 800 555 0100", "US", "+18005550100"),
        ("0049 30 1234567", None, "+49301234567"),
        ("030 1234567", "DE", "+49301234567"),
    ],
)
def test_e164(raw: str, region: str | None, expected: str) -> None:
    assert normalize_phone_e164(raw, region) == expected


def test_e164_needs_a_country_code() -> None:
    assert normalize_phone_e164("(800)555-0100") is None
    assert normalize_phone_e164("+1 23") is None  # too short to be a number


def test_meta_email_and_phone() -> None:
    assert normalize_email_meta("  Jane.Doe+x@Example.COM ") == "jane.doe+x@example.com"
    assert normalize_email_meta("not an email") is None
    assert normalize_phone_meta("+1 (415) 555-0123") == "14155550123"
    assert normalize_phone_meta("0044 20 7946 0958") == "442079460958"


def test_same_identifier_hashes_differently_per_provider() -> None:
    assert hash_phone_google("+1 (415) 555-0123") == sha256_hex("+14155550123")
    assert hash_phone_meta("+1 (415) 555-0123") == sha256_hex("14155550123")
    assert hash_email_google("cloudy.sf+shop@gmail.com") == sha256_hex("cloudysf@gmail.com")
    assert hash_email_meta("cloudy.sf+shop@gmail.com") == sha256_hex("cloudy.sf+shop@gmail.com")


def test_already_hashed_values_pass_through() -> None:
    digest = sha256_hex("someone@example.com")
    assert hash_email_meta(digest) == digest
    assert hash_phone_meta(digest.upper()) == digest
    assert hash_email_google(digest) == digest
