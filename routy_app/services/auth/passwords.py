"""Passwords: Argon2id hashes (an unknown email still pays for one, so timing tells nothing), the
strength policy, and email normalisation."""

from __future__ import annotations

import functools
import re
import secrets
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from routy_app.services.auth.rules import (
    COMMON_BASES,
    COMMON_PASSWORDS,
    EMAIL_RE,
    FORM_MESSAGES,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AuthError,
)

if TYPE_CHECKING:
    pass

# --- passwords ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2-cffi defaults: Argon2id, RFC 9106 low-memory profile


@functools.lru_cache(maxsize=1)
def dummy_hash() -> str:
    return hasher().hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """An Argon2id hash (salt and parameters included in the string)."""
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; a malformed stored hash is a plain mismatch."""
    try:
        return hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str, email: str = "") -> str | None:
    """None when acceptable, else one sentence telling the person what to change."""
    problem = password_problem(password, email)
    return problem[1] if problem else None


def password_problem(password: str, email: str = "") -> tuple[str, str] | None:
    """None when acceptable, else (code, sentence); the code is one of FORM_MESSAGES."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short", f"Use at least {MIN_PASSWORD_LENGTH} characters (this one has {len(password)})."
    if len(password) > MAX_PASSWORD_LENGTH:
        return "too_long", f"Use at most {MAX_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    local = email.strip().lower().split("@", 1)[0]
    if len(local) >= 3 and local in lowered:
        return "has_email", FORM_MESSAGES["has_email"]
    classes = {_char_class(c) for c in password}
    if len(classes) == 1:
        return "one_kind", FORM_MESSAGES["one_kind"]
    base = re.sub(r"[\d\W_]+$", "", lowered)
    if lowered in COMMON_PASSWORDS or base in COMMON_BASES or len(set(lowered)) <= 3:
        return "common", FORM_MESSAGES["common"]
    return None


def _char_class(c: str) -> str:
    if c.islower():
        return "lower"
    if c.isupper():
        return "upper"
    if c.isdigit():
        return "digit"
    return "other"


def normalize_email(email: str) -> str:
    """Trimmed, lowercase; raises AuthError when it is not an email address."""
    value = (email or "").strip().lower()
    if not value or len(value) > 254 or not EMAIL_RE.match(value):
        raise AuthError("Enter a valid email address.")
    return value
