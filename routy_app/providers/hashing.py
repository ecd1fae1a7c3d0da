"""Normalise-then-hash of user identifiers, per provider rules (docs/providers/google_ads.md, meta_ads.md).

Google and Meta normalise differently (Google keeps the `+` of E.164 and folds Gmail addresses;
Meta wants bare digits and plain lowercase), so the same raw email or phone yields different
hashes per provider. Every function returns None for input that cannot be normalised, so callers
send no identifier rather than a hash of garbage. A value that already is a SHA-256 hex digest
passes through unchanged (sources may hand us pre-hashed identifiers).
"""

from __future__ import annotations

import hashlib
import re
from typing import TypeGuard

_HEX64 = re.compile(r"[0-9a-f]{64}")
_WHITESPACE = re.compile(r"\s+")
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_META_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# Country calling codes for the regions a national-format number may come from (ISO 3166-1 alpha-2).
CALLING_CODES: dict[str, str] = {
    "US": "1",
    "CA": "1",
    "GB": "44",
    "IE": "353",
    "DE": "49",
    "AT": "43",
    "CH": "41",
    "FR": "33",
    "BE": "32",
    "NL": "31",
    "LU": "352",
    "ES": "34",
    "PT": "351",
    "IT": "39",
    "DK": "45",
    "SE": "46",
    "NO": "47",
    "FI": "358",
    "PL": "48",
    "CZ": "420",
    "AU": "61",
    "NZ": "64",
    "JP": "81",
    "IN": "91",
    "BR": "55",
    "MX": "52",
    "ZA": "27",
    "SG": "65",
}


def sha256_hex(value: str) -> str:
    """SHA-256 of the UTF-8 string as 64 lowercase hex characters."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def is_sha256_hex(value: str | None) -> TypeGuard[str]:
    if not value:
        return False
    return _HEX64.fullmatch(value.strip().lower()) is not None


# ---------------------------------------------------------------- Google (Data Manager / Ads)


def normalize_email_google(value: str | None) -> str | None:
    """Trim, drop all whitespace, lowercase; for gmail.com/googlemail.com drop dots and `+tag` locally."""
    if not value:
        return None
    email = _WHITESPACE.sub("", value).lower()
    local, sep, domain = email.rpartition("@")
    if not sep or not local or not domain:
        return None
    if domain in _GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        if not local:
            return None
    return f"{local}@{domain}"


def normalize_phone_e164(value: str | None, default_region: str | None = None) -> str | None:
    """E.164 (`+14155550123`). Numbers without `+`/`00` need `default_region` to add the country code."""
    if not value:
        return None
    raw = value.strip()
    digits = re.sub(r"\D", "", raw)
    if not digits:
        return None
    if raw.startswith("+"):
        national = None
    elif digits.startswith("00"):
        digits, national = digits[2:], None
    else:
        national = digits
    if national is not None:
        code = CALLING_CODES.get((default_region or "").upper())
        if code is None:
            return None
        if digits.startswith(code) and len(digits) > 10 and code == "1":
            national = digits[1:]  # "1 415 555 0123" written without the plus
        digits = code + national.lstrip("0")
    if not 8 <= len(digits) <= 15:
        return None
    return "+" + digits


def hash_email_google(value: str | None) -> str | None:
    if is_sha256_hex(value):
        return value.strip().lower()
    normalized = normalize_email_google(value)
    return sha256_hex(normalized) if normalized else None


def hash_phone_google(value: str | None, default_region: str | None = None) -> str | None:
    if is_sha256_hex(value):
        return value.strip().lower()
    normalized = normalize_phone_e164(value, default_region)
    return sha256_hex(normalized) if normalized else None


# ---------------------------------------------------------------- Meta (Conversions API)


def normalize_email_meta(value: str | None) -> str | None:
    """Trim and lowercase; must look like x@y.z (Meta's SDK rejects anything else)."""
    if not value:
        return None
    email = value.strip().lower()
    return email if _META_EMAIL.fullmatch(email) else None


def normalize_phone_meta(value: str | None, default_region: str | None = None) -> str | None:
    """Digits only with the country code, no `+` and no leading zeros (`14155550123`)."""
    e164 = normalize_phone_e164(value, default_region)
    if e164:
        return e164[1:]
    if not value:
        return None
    digits = re.sub(r"\D", "", value).lstrip("0")
    return digits or None


def hash_email_meta(value: str | None) -> str | None:
    if is_sha256_hex(value):
        return value.strip().lower()
    normalized = normalize_email_meta(value)
    return sha256_hex(normalized) if normalized else None


def hash_phone_meta(value: str | None, default_region: str | None = None) -> str | None:
    if is_sha256_hex(value):
        return value.strip().lower()
    normalized = normalize_phone_meta(value, default_region)
    return sha256_hex(normalized) if normalized else None
