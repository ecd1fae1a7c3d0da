"""HMAC-SHA256 signatures for requests Routy sends to a user's URL, and the check a receiver runs.

The header is `X-Routy-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, where the HMAC key is the
shared signing secret and the signed bytes are `<t>` + "." + the raw request body. Putting the time
inside the signature lets a receiver refuse replays of an old request (tolerance: 5 minutes). Several
`v1=` values may appear (one per secret while a secret is being rotated); one match is enough.
The README's "Verifying the signature" gives the same recipe for receivers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Routy-Signature"
SCHEME = "v1"
TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"
MIN_SECRET_LENGTH = 16


def new_secret() -> str:
    """A random signing secret (256 bits), prefixed so people recognise it in a config file."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`."""
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The value of X-Routy-Signature for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def parse_header(header: str) -> tuple[int | None, list[str]]:
    """(timestamp, [v1 signatures]) of a header; (None, []) when it has no usable timestamp."""
    timestamp: int | None = None
    found: list[str] = []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            found.append(value)
    return timestamp, found


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True when `header` signs exactly `body` with `secret` and its time is within `tolerance` of `now`."""
    timestamp, candidates = parse_header(header)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
