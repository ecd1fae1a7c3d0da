"""Sign-in, sessions, roles and user management for a self-hosted Routy.

Why it is shaped this way:
- Passwords are hashed with Argon2id (argon2-cffi); unknown emails still pay for one hash so the
  answer time does not tell which emails exist.
- Sessions live in the database: the browser's cookie holds a random token, the table only its
  SHA-256, so a copy of the database cannot be replayed as a cookie.
- Failed attempts are rows (LoginAttempt), so limits hold across restarts and workers, and the
  refusal message never says whether the email or the password was wrong. An account locks after
  a few failures; an IP address is only rate limited (many people can share one address, e.g.
  behind a proxy or NAT, and must not lock each other out). The address is the client's as seen
  through TRUSTED_PROXIES (security/request_checks.py).

Every function takes the caller's SQLModel session and commits its own writes. Hashing takes tens
of milliseconds: async callers should run `sign_in`, `create_first_admin`, `add_user` and
`set_password` in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import os
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from routy_app.models import LoginAttempt, User, UserRole, UserSession
from routy_app.services import audit
from routy_app.timeutil import utcnow

if TYPE_CHECKING:
    from routy_app.config import Settings

SESSION_COOKIE = "routy_session"
# What the event socket gets instead of the cookie (security/socket_guard.py): see `session_ref`.
SESSION_REF_HEADER = "x-routy-session-ref"
SESSION_IDLE = dt.timedelta(hours=12)  # sliding: extended while the user is active
SESSION_ABSOLUTE = dt.timedelta(days=7)  # hard limit from sign-in, however active
SLIDE_EVERY = dt.timedelta(minutes=1)  # write last_seen/expiry at most this often

ATTEMPT_WINDOW = dt.timedelta(minutes=15)
MAX_ACCOUNT_FAILURES = 5  # per account in ATTEMPT_WINDOW: then the account waits
IP_RATE_WINDOW = dt.timedelta(minutes=1)
MAX_IP_FAILURES = 10  # per client address in IP_RATE_WINDOW: a rate, not a lock
ATTEMPT_RETENTION = dt.timedelta(days=1)

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

WRONG_CREDENTIALS = "Email or password is incorrect."
DISABLED_ACCOUNT = "This account is disabled. Ask an admin to enable it."
CLI_ACTOR = "cli"

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")

# The most common passwords and the words they are built on; a password equal to one, or one of
# the base words followed only by digits/symbols ("Password123!"), is refused.
_COMMON_PASSWORDS = frozenset(
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
_COMMON_BASES = frozenset(
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
        return template.format(minutes=wait_text(int(wait)) if wait.isdigit() and int(wait) <= 3600 else "a while")
    if "{public_url}" in template:
        from routy_app.config import get_settings

        return template.format(public_url=get_settings().public_url)
    return template


def wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class AuthError(Exception):
    """A user-facing refusal; `str(exc)` is one clear sentence to show as is."""


class Forbidden(AuthError):
    """The signed-in user's role does not allow this action."""


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


# --- passwords ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2-cffi defaults: Argon2id, RFC 9106 low-memory profile


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """An Argon2id hash (salt and parameters included in the string)."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; a malformed stored hash is a plain mismatch."""
    try:
        return _hasher().verify(password_hash, password)
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
    if lowered in _COMMON_PASSWORDS or base in _COMMON_BASES or len(set(lowered)) <= 3:
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
    if not value or len(value) > 254 or not _EMAIL_RE.match(value):
        raise AuthError("Enter a valid email address.")
    return value


# --- users ----------------------------------------------------------------------------------------


def needs_first_admin(session: Session) -> bool:
    """True while no user exists: the app shows the one-time "Create the admin" page."""
    return session.exec(select(User.id).limit(1)).first() is None


def get_user(session: Session, email: str) -> User | None:
    try:
        normalized = normalize_email(email)
    except AuthError:
        return None
    return session.exec(select(User).where(User.email == normalized)).first()


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.created_at, User.id)).all())


def create_first_admin(session: Session, email: str, password: str) -> User:
    """The first admin, once: refused when any user exists, even under a race (unique slot)."""
    if not needs_first_admin(session):
        raise AuthError("An admin already exists. Sign in instead.")
    return _create_user(session, email, password, UserRole.ADMIN, actor=None, first=True)


def add_user(
    session: Session, email: str, password: str, role: str = UserRole.VIEWER, *, actor: str = CLI_ACTOR
) -> User:
    """A new user (admin or viewer); the first user ever created also takes the bootstrap slot."""
    return _create_user(session, email, password, role, actor=actor, first=needs_first_admin(session))


def _create_user(session: Session, email: str, password: str, role: str, *, actor: str | None, first: bool) -> User:
    normalized = normalize_email(email)
    if role not in (UserRole.ADMIN, UserRole.VIEWER):
        raise AuthError("Role must be admin or viewer.")
    problem = check_password_strength(password, normalized)
    if problem:
        raise AuthError(problem)
    if get_user(session, normalized) is not None:
        raise AuthError(f"A user with email {normalized} already exists.")
    now = utcnow()
    user = User(
        email=normalized,
        password_hash=hash_password(password),
        role=str(role),
        bootstrap_slot=1 if first else None,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    try:
        session.commit()
    except (IntegrityError, OperationalError) as exc:
        session.rollback()
        if first:  # lost the race for the bootstrap slot (or the SQLite write snapshot)
            raise AuthError("An admin already exists. Sign in instead.") from None
        if isinstance(exc, OperationalError):
            raise
        raise AuthError(f"A user with email {normalized} already exists.") from None
    session.refresh(user)
    audit.record(
        session,
        actor or normalized,
        audit.AuditAction.USER_ADDED,
        user_id=user.id,
        detail=f"{normalized} as {user.role}" + (" (first admin)" if first else ""),
    )
    return user


def set_password(session: Session, email: str, password: str, *, actor: str = CLI_ACTOR) -> User:
    """A new password; every open session of that user is signed out."""
    user = _existing(session, email)
    problem = check_password_strength(password, user.email)
    if problem:
        raise AuthError(problem)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    session.add(user)
    session.commit()
    revoke_user_sessions(session, user.id)
    audit.record(session, actor, audit.AuditAction.PASSWORD_RESET, user_id=user.id, detail=user.email)
    return user


def set_disabled(session: Session, email: str, disabled: bool, *, actor: str = CLI_ACTOR) -> User:
    """Disable (signs the user out everywhere) or re-enable; the last active admin stays."""
    user = _existing(session, email)
    if disabled and user.role == UserRole.ADMIN and not user.disabled and _active_admins(session) <= 1:
        raise AuthError("Can't disable the last active admin; add another admin first.")
    user.disabled = disabled
    session.add(user)
    session.commit()
    if disabled:
        revoke_user_sessions(session, user.id)
    action = audit.AuditAction.USER_DISABLED if disabled else audit.AuditAction.USER_ENABLED
    audit.record(session, actor, action, user_id=user.id, detail=user.email)
    return user


def _existing(session: Session, email: str) -> User:
    normalized = normalize_email(email)
    user = get_user(session, normalized)
    if user is None:
        raise AuthError(f"No user with email {normalized}.")
    return user


def _active_admins(session: Session) -> int:
    stmt = select(func.count()).select_from(User).where(User.role == UserRole.ADMIN, User.disabled == False)  # noqa: E712
    return int(session.exec(stmt).one())


def ensure_admin_from_env(session: Session, environ: dict[str, str] | None = None) -> User | None:
    """Create the admin from ROUTY_ADMIN_EMAIL / ROUTY_ADMIN_PASSWORD when set and not there yet.

    Idempotent: an existing user with that email is left as is (its password is not reset).
    Returns the user created, else None. Raises AuthError naming the variable when unusable.
    """
    env = os.environ if environ is None else environ
    email = env.get("ROUTY_ADMIN_EMAIL", "").strip()
    password = env.get("ROUTY_ADMIN_PASSWORD", "")
    if not email and not password:
        return None
    if not email or not password:
        missing = "ROUTY_ADMIN_EMAIL" if not email else "ROUTY_ADMIN_PASSWORD"
        raise AuthError(f"{missing}: set both ROUTY_ADMIN_EMAIL and ROUTY_ADMIN_PASSWORD, or neither.")
    try:
        normalized = normalize_email(email)
    except AuthError as exc:
        raise AuthError(f"ROUTY_ADMIN_EMAIL: {exc}") from None
    if get_user(session, normalized) is not None:
        return None
    problem = check_password_strength(password, normalized)
    if problem:
        raise AuthError(f"ROUTY_ADMIN_PASSWORD: {problem}")
    try:
        return add_user(session, normalized, password, UserRole.ADMIN, actor="env")
    except AuthError:
        if get_user(session, normalized) is not None:  # another worker created it meanwhile
            return None
        raise


# --- roles ----------------------------------------------------------------------------------------


def can_mutate(user: User | None) -> bool:
    """True for an enabled admin; viewers see everything and change nothing."""
    return user is not None and not user.disabled and user.role == UserRole.ADMIN


def require_admin(user: User | None, action: str = "make changes") -> None:
    """Raise Forbidden("Only admins can <action>.") unless `user` may change things."""
    if user is None:
        raise Forbidden("Sign in to continue.")
    if not can_mutate(user):
        raise Forbidden(f"Only admins can {action}.")


# --- sign-in and sessions -------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_ref(token: str) -> str:
    """What identifies a session without being a credential: the SHA-256 the sessions table keeps.

    Reflex's event socket (and so its state, which a state manager may persist) only ever sees this;
    no route accepts it in place of the cookie.
    """
    return _token_hash(token)


def session_id_for_ref(ref: str) -> str:
    """A stable, non-secret id for a signed-in browser (OAuthState.session_id).

    Domain-separated from the stored token hash so the two columns cannot be joined.
    """
    return hashlib.sha256(b"routy-oauth-binding:" + ref.encode()).hexdigest()


def session_id_for_token(token: str) -> str:
    return session_id_for_ref(session_ref(token))


def sign_in(
    session: Session, email: str, password: str, ip: str | None = None, user_agent: str | None = None
) -> SignInResult:
    """Check the password (rate limited per account and per IP) and open a session."""
    now = utcnow()
    try:
        normalized = normalize_email(email)
    except AuthError:
        normalized = (email or "").strip().lower()[:254]
    ip = (ip or None) and ip[:64]
    wait = _lockout_remaining(session, normalized, ip, now)
    if wait is not None:
        _record_attempt(session, normalized, ip, "blocked", now)
        seconds = max(1, math.ceil(wait.total_seconds()))
        return SignInResult(
            None,
            f"Too many attempts; try again in {wait_text(seconds)}.",
            code="locked",
            retry_after=dt.timedelta(seconds=seconds),
        )
    user = session.exec(select(User).where(User.email == normalized)).first() if normalized else None
    if user is None:
        verify_password(_dummy_hash(), password)  # same cost as a real check
        _record_attempt(session, normalized, ip, "failure", now)
        return SignInResult(None, WRONG_CREDENTIALS, code="wrong")
    if not verify_password(user.password_hash, password):
        _record_attempt(session, normalized, ip, "failure", now)
        return SignInResult(None, WRONG_CREDENTIALS, code="wrong")
    if user.disabled:  # only said to someone who knows the password
        _record_attempt(session, normalized, ip, "failure", now)
        return SignInResult(None, DISABLED_ACCOUNT, code="disabled")
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=min(now + SESSION_IDLE, now + SESSION_ABSOLUTE),
            last_seen_at=now,
            ip=ip,
            user_agent=(user_agent or None) and user_agent[:500],
        )
    )
    user.last_sign_in_at = now
    session.add(user)
    _record_attempt(session, normalized, ip, "success", now, commit=False)
    session.commit()
    session.refresh(user)
    return SignInResult(token, "Signed in.", user)


def user_for_token(session: Session, token: str | None) -> User | None:
    """The user behind a session cookie, or None when unknown, expired, revoked or disabled."""
    return user_for_session_ref(session, session_ref(token)) if token else None


def user_for_session_ref(session: Session, ref: str | None) -> User | None:
    """The user behind a session reference (see `session_ref`), or None as for `user_for_token`.

    An active session's idle expiry slides forward, written at most once a minute.
    """
    if not ref:
        return None
    row = session.exec(select(UserSession).where(UserSession.token_hash == ref)).first()
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    absolute = row.created_at + SESSION_ABSOLUTE
    if absolute <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    if now - row.last_seen_at >= SLIDE_EVERY:
        row.last_seen_at = now
        row.expires_at = min(now + SESSION_IDLE, absolute)
        session.add(row)
        session.commit()
    return user


def sign_out(session: Session, token: str | None) -> None:
    """Revoke this browser's session (no error when it is already gone)."""
    if not token:
        return
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _token_hash(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.commit()


def revoke_user_sessions(session: Session, user_id: int) -> int:
    """Sign a user out everywhere; returns how many sessions were open."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.commit()
    return int(result.rowcount or 0)


def cookie_params(settings: Settings) -> dict:
    """Keyword arguments for Starlette's `response.set_cookie(value=token, **params)`."""
    return {
        "key": SESSION_COOKIE,
        "httponly": True,
        "samesite": "lax",
        "secure": settings.public_url.startswith("https://"),
        "path": "/",
        "max_age": int(SESSION_ABSOLUTE.total_seconds()),
    }


# --- rate limiting --------------------------------------------------------------------------------


def _lockout_remaining(session: Session, email: str, ip: str | None, now: dt.datetime) -> dt.timedelta | None:
    """How long until the next attempt is allowed, or None when it is allowed now."""
    since = now - ATTEMPT_WINDOW
    waits = []
    # Per account: failures since the window start or the last success, whichever is later.
    last_ok = session.exec(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.email == email, LoginAttempt.outcome == "success", LoginAttempt.at > since
        )
    ).one()
    account_since = max(since, last_ok) if last_ok else since
    waits.append(_wait(session, LoginAttempt.email == email, account_since, MAX_ACCOUNT_FAILURES, now, ATTEMPT_WINDOW))
    if ip:  # a rate: at most MAX_IP_FAILURES a minute, never a lock of the whole address
        waits.append(_wait(session, LoginAttempt.ip == ip, now - IP_RATE_WINDOW, MAX_IP_FAILURES, now, IP_RATE_WINDOW))
    waits = [w for w in waits if w is not None]
    return max(waits) if waits else None


def _wait(
    session: Session, key: Any, since: dt.datetime, limit: int, now: dt.datetime, window: dt.timedelta
) -> dt.timedelta | None:
    """Waiting while `limit` failures lie in the window: until the oldest that matters ages out."""
    times = session.exec(
        select(LoginAttempt.at)
        .where(key, LoginAttempt.outcome == "failure", LoginAttempt.at > since)
        .order_by(LoginAttempt.at.desc())
        .limit(limit)
    ).all()
    if len(times) < limit:
        return None
    return times[-1] + window - now


def _record_attempt(
    session: Session, email: str, ip: str | None, outcome: str, now: dt.datetime, commit: bool = True
) -> None:
    session.add(LoginAttempt(email=email[:254], ip=ip, outcome=outcome, at=now))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - ATTEMPT_RETENTION))
    if commit:
        session.commit()
