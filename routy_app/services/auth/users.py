"""Users and roles: the first admin, adding, disabling and resetting users (each audited), and who may
change things (admins; viewers only look)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from routy_app.models import User, UserRole, saved_id
from routy_app.services import audit
from routy_app.services.auth.passwords import check_password_strength, hash_password, normalize_email
from routy_app.services.auth.rules import CLI_ACTOR, AuthError, Forbidden
from routy_app.services.auth.sessions import revoke_user_sessions
from routy_app.timeutil import utcnow

if TYPE_CHECKING:
    pass

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
    return list(session.exec(select(User).order_by(col(User.created_at), col(User.id))).all())


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
    revoke_user_sessions(session, saved_id(user))
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
        revoke_user_sessions(session, saved_id(user))
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
