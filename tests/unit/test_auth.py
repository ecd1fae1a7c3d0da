"""Sign-in, sessions, roles and users (services/auth.py) on a fresh migrated SQLite database."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.models import AuditEvent, LoginAttempt, User, UserSession
from routy_app.services import auth
from routy_app.services.auth import AuthError, Forbidden
from routy_app.timeutil import utcnow

GOOD = "Blue-Kettle-Walks-42"
ADMIN = "admin@example.com"


def _admin(email: str = ADMIN, password: str = GOOD) -> User:
    with session_scope() as s:
        return auth.create_first_admin(s, email, password)


def _viewer(email: str = "viewer@example.com", password: str = GOOD) -> User:
    with session_scope() as s:
        return auth.add_user(s, email, password, "viewer")


def _sign_in(email: str = ADMIN, password: str = GOOD, ip: str | None = "10.0.0.1") -> auth.SignInResult:
    with session_scope() as s:
        return auth.sign_in(s, email, password, ip, "pytest-agent")


def _age_attempts(by: dt.timedelta) -> None:
    """Move every stored attempt back in time (instead of sleeping through the window)."""
    with session_scope() as s:
        for row in s.exec(select(LoginAttempt)).all():
            row.at = row.at - by
            s.add(row)
        s.commit()


# --- passwords -----------------------------------------------------------------------------------


def test_hash_is_argon2_salted_and_verifies():
    first, second = auth.hash_password(GOOD), auth.hash_password(GOOD)
    assert first.startswith("$argon2id$") and first != second and GOOD not in first
    assert auth.verify_password(first, GOOD)
    assert not auth.verify_password(first, GOOD + "x")
    assert not auth.verify_password("not-a-hash", GOOD)


@pytest.mark.parametrize(
    ("password", "email", "expected"),
    [
        ("Short1!", "", "at least 12 characters"),
        ("x" * 257 + "A1", "", "at most 256"),
        ("Jane.Doe-Secret-2024", "jane.doe@example.com", "email address"),
        ("alllowercaseletters", "", "Mix character types"),
        ("123456789012345", "", "Mix character types"),
        ("Password12345!", "", "too common"),
        ("Qwerty123456", "", "too common"),
        ("abababababA1", "", "too common"),
    ],
)
def test_weak_passwords_get_a_clear_reason(password, email, expected):
    message = auth.check_password_strength(password, email)
    assert message is not None and expected in message


@pytest.mark.parametrize("password", [GOOD, "correct horse battery Staple", "7 Rivers & 3 bridges"])
def test_reasonable_passwords_pass(password):
    assert auth.check_password_strength(password, "someone@example.com") is None


# --- users ---------------------------------------------------------------------------------------


def test_first_admin_once_only(db):
    with session_scope() as s:
        assert auth.needs_first_admin(s)
    user = _admin("  Admin@Example.COM ")
    assert (user.email, user.role, user.disabled) == (ADMIN, "admin", False)
    with session_scope() as s:
        assert not auth.needs_first_admin(s)
        with pytest.raises(AuthError, match="already exists"):
            auth.create_first_admin(s, "second@example.com", GOOD)
        assert [u.email for u in auth.list_users(s)] == [ADMIN]
        event = s.exec(select(AuditEvent)).one()
        assert (event.action, event.user_email) == ("user_added", ADMIN) and "first admin" in event.detail


def test_first_admin_refuses_a_weak_password_and_stays_available(db):
    with session_scope() as s:
        with pytest.raises(AuthError, match="at least 12"):
            auth.create_first_admin(s, ADMIN, "short")
        assert auth.needs_first_admin(s)


def test_racing_first_admins_end_with_exactly_one(db):
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            _admin(f"admin{i}@example.com")
            outcomes.append("ok")
        except AuthError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1, outcomes
    with session_scope() as s:
        assert len(auth.list_users(s)) == 1


def test_bootstrap_slot_is_unique_in_the_schema(db):
    with session_scope() as s:
        s.add(User(email="a@example.com", password_hash="x", bootstrap_slot=1))
        s.commit()
        s.add(User(email="b@example.com", password_hash="x", bootstrap_slot=1))
        with pytest.raises(IntegrityError):
            s.commit()


def test_duplicate_email_is_refused_case_insensitively(db):
    _admin()
    with session_scope() as s:
        with pytest.raises(AuthError, match="already exists"):
            auth.add_user(s, "ADMIN@example.com", GOOD, "viewer")
        with pytest.raises(AuthError, match="valid email"):
            auth.add_user(s, "not-an-email", GOOD, "viewer")
        with pytest.raises(AuthError, match="admin or viewer"):
            auth.add_user(s, "x@example.com", GOOD, "owner")


def test_env_admin_is_created_once(db):
    env = {"ROUTY_ADMIN_EMAIL": "Ops@Example.com", "ROUTY_ADMIN_PASSWORD": GOOD}
    with session_scope() as s:
        created = auth.ensure_admin_from_env(s, env)
        assert created is not None and (created.email, created.role) == ("ops@example.com", "admin")
        assert auth.ensure_admin_from_env(s, env) is None
        assert auth.ensure_admin_from_env(s, {**env, "ROUTY_ADMIN_PASSWORD": "Other-Pass-12345"}) is None
        assert len(auth.list_users(s)) == 1
        assert auth.ensure_admin_from_env(s, {}) is None
    assert _sign_in("ops@example.com").ok


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ROUTY_ADMIN_EMAIL": ADMIN}, "ROUTY_ADMIN_PASSWORD: set both"),
        ({"ROUTY_ADMIN_PASSWORD": GOOD}, "ROUTY_ADMIN_EMAIL: set both"),
        ({"ROUTY_ADMIN_EMAIL": ADMIN, "ROUTY_ADMIN_PASSWORD": "short"}, "ROUTY_ADMIN_PASSWORD: Use at least"),
        ({"ROUTY_ADMIN_EMAIL": "nope", "ROUTY_ADMIN_PASSWORD": GOOD}, "ROUTY_ADMIN_EMAIL: Enter a valid"),
    ],
)
def test_env_admin_errors_name_the_variable(db, env, expected):
    with session_scope() as s:
        with pytest.raises(AuthError, match=expected):
            auth.ensure_admin_from_env(s, env)
        assert auth.needs_first_admin(s)


def test_cannot_disable_the_last_active_admin(db):
    _admin()
    with session_scope() as s:
        with pytest.raises(AuthError, match="last active admin"):
            auth.set_disabled(s, ADMIN, True)
        auth.add_user(s, "second@example.com", GOOD, "admin")
        assert auth.set_disabled(s, ADMIN, True).disabled


# --- roles ---------------------------------------------------------------------------------------


def test_viewer_cannot_mutate(db):
    admin, viewer = _admin(), _viewer()
    assert auth.can_mutate(admin) and not auth.can_mutate(viewer) and not auth.can_mutate(None)
    auth.require_admin(admin)
    with pytest.raises(Forbidden, match=r"Only admins can pause integrations\."):
        auth.require_admin(viewer, "pause integrations")
    with pytest.raises(Forbidden, match="Sign in"):
        auth.require_admin(None)
    admin.disabled = True
    assert not auth.can_mutate(admin)


# --- sign-in ---------------------------------------------------------------------------------------


def test_sign_in_success_opens_a_server_side_session(db):
    _admin()
    result = _sign_in("  ADMIN@example.com ")
    assert result.ok and result.user.email == ADMIN and result.message == "Signed in."
    with session_scope() as s:
        row = s.exec(select(UserSession)).one()
        assert result.token not in row.token_hash and len(row.token_hash) == 64
        assert (row.ip, row.user_agent, row.revoked_at) == ("10.0.0.1", "pytest-agent", None)
        assert dt.timedelta(hours=11) < row.expires_at - utcnow() <= dt.timedelta(hours=12)
        assert auth.user_for_token(s, result.token).email == ADMIN
        assert s.get(User, result.user.id).last_sign_in_at is not None


def test_wrong_email_and_wrong_password_get_the_same_message(db):
    _admin()
    wrong_password = _sign_in(ADMIN, GOOD + "!")
    wrong_email = _sign_in("nobody@example.com", GOOD)
    malformed = _sign_in("not an email", GOOD)
    assert not wrong_password.ok and not wrong_email.ok and not malformed.ok
    assert wrong_password.message == wrong_email.message == malformed.message == "Email or password is incorrect."
    with session_scope() as s:
        assert s.exec(select(UserSession)).all() == []


def test_disabled_user_cannot_sign_in(db):
    _admin()
    _viewer()
    with session_scope() as s:
        auth.set_disabled(s, "viewer@example.com", True)
    assert _sign_in("viewer@example.com", GOOD + "x").message == "Email or password is incorrect."
    assert "disabled" in _sign_in("viewer@example.com").message


def test_account_locks_after_five_failures_and_unlocks_after_the_window(db):
    _admin()
    for _ in range(5):
        assert _sign_in(ADMIN, "wrong-password-1A", ip=None).message == "Email or password is incorrect."
    locked = _sign_in(ADMIN, GOOD, ip=None)  # even the right password waits
    assert not locked.ok and locked.message == "Too many attempts; try again in 15 minutes."
    _age_attempts(dt.timedelta(minutes=10))
    assert _sign_in(ADMIN, GOOD, ip=None).message == "Too many attempts; try again in 5 minutes."
    _age_attempts(dt.timedelta(minutes=5, seconds=1))
    assert _sign_in(ADMIN, GOOD, ip=None).ok


def test_a_strangers_guesses_do_not_lock_the_owner_out(db):
    """Five failures from one address make that address wait for this account; the admin signing in from
    another address is not locked out (attack report F4)."""
    _admin()
    for _ in range(5):
        _sign_in(ADMIN, "wrong-password-1A", ip="203.0.113.66")
    assert _sign_in(ADMIN, GOOD, ip="203.0.113.66").code == "locked"
    assert _sign_in(ADMIN, GOOD, ip="198.51.100.7").ok


def test_many_addresses_together_reach_the_account_wide_ceiling(db):
    _admin()
    now = utcnow()
    with session_scope() as s:  # a botnet: 50 addresses, one failure each
        for i in range(auth.MAX_ACCOUNT_FAILURES_ALL_ADDRESSES):
            s.add(LoginAttempt(email=ADMIN, ip=f"10.0.{i // 250}.{i % 250}", outcome="failure", at=now))
        s.commit()
    assert _sign_in(ADMIN, GOOD, ip="198.51.100.7").code == "locked"


def test_unknown_emails_lock_the_same_way(db):
    for _ in range(5):
        _sign_in("ghost@example.com", GOOD, ip=None)
    assert _sign_in("ghost@example.com", GOOD, ip=None).message.startswith("Too many attempts")


def test_success_resets_the_account_counter(db):
    _admin()
    for _ in range(4):
        _sign_in(ADMIN, "wrong-password-1A", ip=None)
    assert _sign_in(ADMIN, GOOD, ip=None).ok
    for _ in range(4):
        _sign_in(ADMIN, "wrong-password-1A", ip=None)
    assert _sign_in(ADMIN, GOOD, ip=None).ok


def test_an_address_is_rate_limited_not_locked(db):
    """Many people can share an address (a proxy, an office NAT): failures from it slow it down for a
    minute at most; twenty spread over a quarter of an hour lock nobody out (issue 12, item 13)."""
    _admin()
    now = utcnow()
    with session_scope() as s:  # 20 earlier failures from this address, each on a different account
        for i in range(20):
            s.add(
                LoginAttempt(
                    email=f"user{i}@example.com",
                    ip="203.0.113.9",
                    outcome="failure",
                    at=now - dt.timedelta(minutes=14) + dt.timedelta(seconds=40 * i),
                )
            )
        s.commit()
    assert _sign_in(ADMIN, GOOD, ip="203.0.113.9").ok


def test_a_burst_from_one_address_waits_at_most_a_minute(db):
    _admin()
    now = utcnow()
    with session_scope() as s:
        for i in range(auth.MAX_IP_FAILURES):
            s.add(
                LoginAttempt(
                    email=f"user{i}@example.com",
                    ip="203.0.113.9",
                    outcome="failure",
                    at=now - dt.timedelta(seconds=30) + dt.timedelta(seconds=i),
                )
            )
        s.commit()
    blocked = _sign_in(ADMIN, GOOD, ip="203.0.113.9")
    assert not blocked.ok and blocked.code == "locked"
    assert dt.timedelta(seconds=1) <= blocked.retry_after <= dt.timedelta(seconds=31)
    assert re.fullmatch(r"Too many attempts; try again in \d+ seconds\.", blocked.message)
    assert _sign_in(ADMIN, GOOD, ip="198.51.100.7").ok  # another address is not affected
    _age_attempts(dt.timedelta(seconds=31))
    assert _sign_in(ADMIN, GOOD, ip="203.0.113.9").ok


def test_the_pages_show_our_text_for_known_codes_only():
    assert auth.form_message("wrong") == "Email or password is incorrect."
    assert auth.form_message("locked", "125") == "Too many attempts; try again in 3 minutes."
    assert auth.form_message("locked", "1e9") == "Too many attempts; try again in a while."
    assert auth.form_message("too_short") == "Use at least 12 characters."
    assert auth.form_message("Your session expired, call +1 555 0100 to unlock") == ""
    assert auth.password_problem("short", "a@example.com")[0] == "too_short"
    assert auth.password_problem("Password123!", "a@example.com")[0] == "common"
    assert {
        code
        for code, _ in filter(
            None,
            [
                auth.password_problem(p, "alice@example.com")
                for p in ("x", "y" * 300, "alice-Alice-123", "aaaaaaaaaaaaaaaa", "Password1234")
            ],
        )
    } <= set(auth.FORM_MESSAGES)


def test_old_attempts_are_pruned(db):
    with session_scope() as s:
        s.add(
            LoginAttempt(email="old@example.com", ip="1.2.3.4", outcome="failure", at=utcnow() - dt.timedelta(days=2))
        )
        s.commit()
    _sign_in("new@example.com", GOOD)
    with session_scope() as s:
        assert [a.email for a in s.exec(select(LoginAttempt)).all()] == ["new@example.com"]


# --- sessions --------------------------------------------------------------------------------------


def _token() -> str:
    result = _sign_in()
    assert result.ok
    return result.token


def _set_session(**values) -> None:
    with session_scope() as s:
        s.execute(update(UserSession).values(**values))
        s.commit()


def test_sign_out_revokes_the_session(db):
    _admin()
    token = _token()
    with session_scope() as s:
        auth.sign_out(s, token)
        auth.sign_out(s, token)  # twice is harmless
        auth.sign_out(s, None)
        assert auth.user_for_token(s, token) is None
        assert s.exec(select(UserSession)).one().revoked_at is not None


def test_unknown_or_empty_tokens_find_nobody(db):
    _admin()
    _token()
    with session_scope() as s:
        assert auth.user_for_token(s, "made-up-token") is None
        assert auth.user_for_token(s, "") is None
        assert auth.user_for_token(s, None) is None


def test_idle_expiry_slides_at_most_once_a_minute(db):
    _admin()
    token = _token()
    now = utcnow()
    _set_session(last_seen_at=now - dt.timedelta(seconds=30), expires_at=now + dt.timedelta(hours=1))
    with session_scope() as s:
        assert auth.user_for_token(s, token) is not None
        assert s.exec(select(UserSession)).one().expires_at - now < dt.timedelta(hours=1, seconds=1)
    _set_session(last_seen_at=now - dt.timedelta(minutes=2))
    with session_scope() as s:
        assert auth.user_for_token(s, token) is not None
        row = s.exec(select(UserSession)).one()
        assert row.expires_at - now > dt.timedelta(hours=11, minutes=59) and row.last_seen_at >= now


def test_idle_expired_session_is_refused(db):
    _admin()
    token = _token()
    _set_session(expires_at=utcnow() - dt.timedelta(seconds=1))
    with session_scope() as s:
        assert auth.user_for_token(s, token) is None


def test_absolute_lifetime_caps_sliding(db):
    _admin()
    token = _token()
    now = utcnow()
    _set_session(
        created_at=now - dt.timedelta(days=7) + dt.timedelta(hours=1), last_seen_at=now - dt.timedelta(minutes=5)
    )
    with session_scope() as s:
        assert auth.user_for_token(s, token) is not None
        row = s.exec(select(UserSession)).one()
        assert row.expires_at <= row.created_at + dt.timedelta(days=7)
    _set_session(created_at=now - dt.timedelta(days=7, seconds=1), expires_at=now + dt.timedelta(hours=1))
    with session_scope() as s:
        assert auth.user_for_token(s, token) is None


def test_disabling_or_resetting_password_signs_out_everywhere(db):
    _admin()
    _viewer()
    viewer_token = _sign_in("viewer@example.com").token
    admin_token = _token()
    with session_scope() as s:
        auth.set_disabled(s, "viewer@example.com", True)
        assert auth.user_for_token(s, viewer_token) is None
        auth.set_password(s, ADMIN, "New-Strong-Pass-77")
        assert auth.user_for_token(s, admin_token) is None
    assert not _sign_in(ADMIN, GOOD).ok
    assert _sign_in(ADMIN, "New-Strong-Pass-77").ok


def test_cookie_params_follow_public_url(db, monkeypatch):
    params = auth.cookie_params(get_settings())
    assert params == {
        "key": "routy_session",
        "httponly": True,
        "samesite": "lax",
        "secure": False,
        "path": "/",
        "max_age": 7 * 24 * 3600,
    }
    monkeypatch.setenv("PUBLIC_URL", "https://routy.example.com")
    from routy_app.config import reload_settings

    assert auth.cookie_params(reload_settings())["secure"] is True


def test_session_id_for_token_is_stable_and_not_the_stored_hash(db):
    _admin()
    token = _token()
    sid = auth.session_id_for_token(token)
    assert sid == auth.session_id_for_token(token) and len(sid) == 64 and token not in sid
    assert sid != auth.session_id_for_token(token + "x")
    with session_scope() as s:
        assert s.exec(select(UserSession)).one().token_hash != sid
