"""Sign-in's rules and words: session and lockout limits, the password policy, the messages forms show,
and the refusals (`AuthError`, `Forbidden`)."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from routy_app import errors
from routy_app.errors import InvalidInput
from routy_app.models import User

if TYPE_CHECKING:
    pass

SESSION_COOKIE = "routy_session"
# What the event socket gets instead of the cookie (security/socket_guard.py): see `session_ref`.
SESSION_REF_HEADER = "x-routy-session-ref"
SESSION_IDLE = dt.timedelta(hours=12)  # sliding: extended while the user is active
SESSION_ABSOLUTE = dt.timedelta(days=7)  # hard limit from sign-in, however active
SLIDE_EVERY = dt.timedelta(minutes=1)  # write last_seen/expiry at most this often

ATTEMPT_WINDOW = dt.timedelta(minutes=15)
# Guessing one account's password: 5 failures from one address make that address wait the window out for
# that account; the person behind another address (the real admin) is not locked out by a stranger's
# guesses. Only many addresses together (a botnet) reach the account-wide ceiling.
MAX_ACCOUNT_FAILURES = 5  # per account and client address in ATTEMPT_WINDOW
MAX_ACCOUNT_FAILURES_ALL_ADDRESSES = 50  # per account from every address together in ATTEMPT_WINDOW
IP_RATE_WINDOW = dt.timedelta(minutes=1)
MAX_IP_FAILURES = 10  # per client address in IP_RATE_WINDOW: a rate, not a lock
ATTEMPT_RETENTION = dt.timedelta(days=1)

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

WRONG_CREDENTIALS = "Email or password is incorrect."
DISABLED_ACCOUNT = "This account is disabled. Ask an admin to enable it."
CLI_ACTOR = "cli"

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")

# The most common passwords and the words they are built on; a password equal to one, or one of
# the base words followed only by digits/symbols ("Password123!"), is refused.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890ab",
        "qwertyuiop12",
        "qwerty123456",
        "password1234",
        "password123!",
        "iloveyou1234",
        "abc123abc123",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "qazwsxedcrfv",
        "zaq12wsxcde3",
        "aa123456789a",
        "changeme1234",
        "welcome12345",
        "letmein12345",
        "administrator",
        "adminadmin12",
        "passw0rdpassw0rd",
        "p@ssw0rd1234",
        "p@ssword1234",
        "trustno1trustno1",
        "football1234",
        "baseball1234",
        "monkey123456",
        "dragon123456",
        "sunshine1234",
        "princess1234",
        "starwars1234",
        "superman1234",
        "master123456",
        "michael12345",
        "shadow123456",
        "whatever1234",
        "qwertyqwerty",
        "asdfghjkl123",
        "asdfasdfasdf",
        "zxcvbnm12345",
        "correcthorsebatterystaple",
        "abcdefghijkl",
    }
)
COMMON_BASES = frozenset(
    {
        "password",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "qwerty",
        "qwertyuiop",
        "letmein",
        "welcome",
        "admin",
        "administrator",
        "changeme",
        "iloveyou",
        "routy",
        "secret",
        "default",
        "monkey",
        "dragon",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "master",
        "login",
        "abc",
        "qazwsx",
    }
)


# What the sign-in and set-up pages say for the codes in their `?error=` (never text from the URL).
FORM_MESSAGES = {
    "wrong": WRONG_CREDENTIALS,
    "disabled": DISABLED_ACCOUNT,
    "locked": "Too many attempts; try again in {minutes}.",
    "origin": "This form came from another site. Open Routy at {public_url} and sign in there.",
    "mismatch": "The two passwords differ.",
    "bad_email": "Enter a valid email address.",
    "admin_exists": "An admin already exists. Sign in instead.",
    "too_short": f"Use at least {MIN_PASSWORD_LENGTH} characters.",
    "too_long": f"Use at most {MAX_PASSWORD_LENGTH} characters.",
    "has_email": "Don't include your email address in the password.",
    "one_kind": "Mix character types: add capitals, digits or symbols, not only one kind.",
    "common": "This password is too common or easy to guess; choose another.",
}


def form_message(code: str, wait: str = "") -> str:
    """Our sentence for an `?error=` code ("" for an unknown one: nothing is shown)."""
    template = FORM_MESSAGES.get(code, "")
    if "{minutes}" in template:
        seconds = int(wait) if wait.isascii() and wait.isdigit() and len(wait) < 6 else None  # "²".isdigit() too
        return template.format(minutes=wait_text(seconds) if seconds is not None and seconds <= 3600 else "a while")
    if "{public_url}" in template:
        from routy_app.config import get_settings

        return template.format(public_url=get_settings().public_url)
    return template


def wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class AuthError(InvalidInput):
    """A refusal of a sign-in or user change; `str(exc)` is one clear sentence to show as is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, field)


class Forbidden(AuthError, errors.Forbidden):
    """The signed-in user's role does not allow this action."""

    status_code = 403


@dataclass(frozen=True)
class SignInResult:
    """`token` goes into the session cookie; None means refused, `message` says why and `code`
    names the reason for the sign-in page (see FORM_MESSAGES)."""

    token: str | None
    message: str
    user: User | None = None
    code: str = ""
    retry_after: dt.timedelta | None = None

    @property
    def ok(self) -> bool:
        return self.token is not None
