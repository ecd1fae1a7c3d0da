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

Each module: `rules` (limits, messages, refusals), `passwords`, `users` (and roles), `sessions` (sign-in,
sessions, rate limiting).

Every function takes the caller's SQLModel session and commits its own writes. Hashing takes tens
of milliseconds: async callers should run `sign_in`, `create_first_admin`, `add_user` and
`set_password` in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

from routy_app.services.auth.passwords import (
    check_password_strength,
    dummy_hash,
    hash_password,
    hasher,
    normalize_email,
    password_problem,
    verify_password,
)
from routy_app.services.auth.rules import (
    ATTEMPT_RETENTION,
    ATTEMPT_WINDOW,
    CLI_ACTOR,
    COMMON_BASES,
    COMMON_PASSWORDS,
    DISABLED_ACCOUNT,
    EMAIL_RE,
    FORM_MESSAGES,
    IP_RATE_WINDOW,
    MAX_ACCOUNT_FAILURES,
    MAX_ACCOUNT_FAILURES_ALL_ADDRESSES,
    MAX_IP_FAILURES,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    SESSION_ABSOLUTE,
    SESSION_COOKIE,
    SESSION_IDLE,
    SESSION_REF_HEADER,
    SLIDE_EVERY,
    WRONG_CREDENTIALS,
    AuthError,
    Forbidden,
    SignInResult,
    form_message,
    wait_text,
)
from routy_app.services.auth.sessions import (
    cookie_params,
    revoke_user_sessions,
    session_id_for_ref,
    session_id_for_token,
    session_ref,
    sign_in,
    sign_out,
    user_for_session_ref,
    user_for_token,
)
from routy_app.services.auth.users import (
    add_user,
    can_mutate,
    create_first_admin,
    ensure_admin_from_env,
    get_user,
    list_users,
    needs_first_admin,
    require_admin,
    set_disabled,
    set_password,
)

__all__ = [
    "ATTEMPT_RETENTION",
    "ATTEMPT_WINDOW",
    "CLI_ACTOR",
    "COMMON_BASES",
    "COMMON_PASSWORDS",
    "DISABLED_ACCOUNT",
    "EMAIL_RE",
    "FORM_MESSAGES",
    "IP_RATE_WINDOW",
    "MAX_ACCOUNT_FAILURES",
    "MAX_ACCOUNT_FAILURES_ALL_ADDRESSES",
    "MAX_IP_FAILURES",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "SESSION_ABSOLUTE",
    "SESSION_COOKIE",
    "SESSION_IDLE",
    "SESSION_REF_HEADER",
    "SLIDE_EVERY",
    "WRONG_CREDENTIALS",
    "AuthError",
    "Forbidden",
    "SignInResult",
    "add_user",
    "can_mutate",
    "check_password_strength",
    "cookie_params",
    "create_first_admin",
    "dummy_hash",
    "ensure_admin_from_env",
    "form_message",
    "get_user",
    "hash_password",
    "hasher",
    "list_users",
    "needs_first_admin",
    "normalize_email",
    "password_problem",
    "require_admin",
    "revoke_user_sessions",
    "session_id_for_ref",
    "session_id_for_token",
    "session_ref",
    "set_disabled",
    "set_password",
    "sign_in",
    "sign_out",
    "user_for_session_ref",
    "user_for_token",
    "verify_password",
    "wait_text",
]
