"""Sign-in, sessions and the limits on failed attempts (see the package's docstring for why)."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import and_, delete, func, update
from sqlmodel import Session, col, select

from routy_app.models import LoginAttempt, User, UserSession, saved_id
from routy_app.services.auth.passwords import dummy_hash, hash_password, hasher, normalize_email, verify_password
from routy_app.services.auth.rules import (
    ATTEMPT_RETENTION,
    ATTEMPT_WINDOW,
    DISABLED_ACCOUNT,
    IP_RATE_WINDOW,
    MAX_ACCOUNT_FAILURES,
    MAX_ACCOUNT_FAILURES_ALL_ADDRESSES,
    MAX_IP_FAILURES,
    SESSION_ABSOLUTE,
    SESSION_COOKIE,
    SESSION_IDLE,
    SLIDE_EVERY,
    WRONG_CREDENTIALS,
    AuthError,
    SignInResult,
    wait_text,
)
from routy_app.timeutil import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

    from routy_app.config import Settings

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
        verify_password(dummy_hash(), password)  # same cost as a real check
        _record_attempt(session, normalized, ip, "failure", now)
        return SignInResult(None, WRONG_CREDENTIALS, code="wrong")
    if not verify_password(user.password_hash, password):
        _record_attempt(session, normalized, ip, "failure", now)
        return SignInResult(None, WRONG_CREDENTIALS, code="wrong")
    if user.disabled:  # only said to someone who knows the password
        _record_attempt(session, normalized, ip, "failure", now)
        return SignInResult(None, DISABLED_ACCOUNT, code="disabled")
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=saved_id(user),
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
        .where(col(UserSession.token_hash) == _token_hash(token), col(UserSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    session.commit()


def revoke_user_sessions(session: Session, user_id: int) -> int:
    """Sign a user out everywhere; returns how many sessions were open."""
    # an UPDATE's result is a CursorResult (the one with rowcount); Session.execute is typed for any statement
    result = cast(
        "CursorResult[Any]",
        session.execute(
            update(UserSession)
            .where(col(UserSession.user_id) == user_id, col(UserSession.revoked_at).is_(None))
            .values(revoked_at=utcnow()),
        ),
    )
    session.commit()
    return int(result.rowcount or 0)


def cookie_params(settings: Settings) -> dict[str, Any]:
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
    account = col(LoginAttempt.email) == email
    from_here = and_(account, col(LoginAttempt.ip) == ip) if ip else account
    waits.append(_wait(session, from_here, account_since, MAX_ACCOUNT_FAILURES, now, ATTEMPT_WINDOW))
    waits.append(_wait(session, account, account_since, MAX_ACCOUNT_FAILURES_ALL_ADDRESSES, now, ATTEMPT_WINDOW))
    if ip:  # a rate: at most MAX_IP_FAILURES a minute, never a lock of the whole address
        waits.append(_wait(session, LoginAttempt.ip == ip, now - IP_RATE_WINDOW, MAX_IP_FAILURES, now, IP_RATE_WINDOW))
    found = [w for w in waits if w is not None]
    return max(found) if found else None


def _wait(
    session: Session, key: Any, since: dt.datetime, limit: int, now: dt.datetime, window: dt.timedelta
) -> dt.timedelta | None:
    """Waiting while `limit` failures lie in the window: until the oldest that matters ages out."""
    times = session.exec(
        select(LoginAttempt.at)
        .where(key, LoginAttempt.outcome == "failure", LoginAttempt.at > since)
        .order_by(col(LoginAttempt.at).desc())
        .limit(limit)
    ).all()
    if len(times) < limit:
        return None
    return times[-1] + window - now


def _record_attempt(
    session: Session, email: str, ip: str | None, outcome: str, now: dt.datetime, commit: bool = True
) -> None:
    session.add(LoginAttempt(email=email[:254], ip=ip, outcome=outcome, at=now))
    session.execute(delete(LoginAttempt).where(col(LoginAttempt.at) < now - ATTEMPT_RETENTION))
    if commit:
        session.commit()
