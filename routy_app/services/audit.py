"""The audit log: who connected, paused, changed settings or mappings, rotated keys, added users.

Why a module of its own: every change made from the UI or the CLI leaves one row here, shown on the
integration's History and in the admin's log. `detail` is plain text for people and must never hold
a secret; as a safety net, long token-like strings are masked before they are stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlmodel import Session, col, select

from routy_app.models import AuditEvent
from routy_app.timeutil import utcnow

MAX_DETAIL = 2000

# Token-shaped runs: 32+ URL/base64 characters that mix letters and digits (OAuth tokens, API keys,
# Fernet blobs). Ids, names and emails are shorter or lack the mix, so they are kept.
_SECRETISH = re.compile(r"[A-Za-z0-9_\-+=.~]{32,}")


class AuditAction(StrEnum):
    CONNECTED = "connected"
    RECONNECTED = "reconnected"
    DISCONNECTED = "disconnected"
    ACCOUNT_SELECTED = "account_selected"
    PAUSED = "paused"
    RESUMED = "resumed"
    SETTINGS_CHANGED = "settings_changed"
    SYNC_REQUESTED = "sync_requested"
    FULL_SYNC_REQUESTED = "full_sync_requested"
    TEST_CONNECTION = "test_connection"
    SETUP_CHECKED = "setup_checked"
    MAPPING_ADDED = "mapping_added"
    MAPPING_CHANGED = "mapping_changed"
    MAPPING_DELETED = "mapping_deleted"
    PUSHES_RETRIED = "pushes_retried"
    API_KEY_ROTATED = "api_key_rotated"
    ALERT_CHANNEL_SAVED = "alert_channel_saved"
    ALERT_CHANNEL_DELETED = "alert_channel_deleted"
    ALERT_CHANNEL_TESTED = "alert_channel_tested"
    ALERT_RULES_CHANGED = "alert_rules_changed"
    USER_ADDED = "user_added"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    PASSWORD_RESET = "password_reset"
    SIGNED_IN = "signed_in"
    SIGNED_OUT = "signed_out"
    SOURCE_CREATED = "source_created"
    SOURCE_RENAMED = "source_renamed"


@dataclass(frozen=True)
class Actor:
    """Who does something: a signed-in user, the command line, or Routy itself. Commands take one and
    write it into the audit row of their change."""

    email: str | None = None
    user_id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return SYSTEM


SYSTEM = Actor()


def scrub(detail: str) -> str:
    """The detail with token-like strings masked and its length capped."""

    def mask(match: re.Match[str]) -> str:
        text = match.group(0)
        if match.string[match.end() : match.end() + 1] == "@":  # an email's local part
            return text
        if any(c.isdigit() for c in text) and any(c.isalpha() for c in text):
            return f"[redacted …{len(text)} chars]"
        return text

    cleaned = _SECRETISH.sub(mask, detail or "")
    return cleaned if len(cleaned) <= MAX_DETAIL else cleaned[: MAX_DETAIL - 1] + "…"


def record(
    session: Session,
    user_email: str | None,
    action: str,
    *,
    integration_id: int | None = None,
    source_id: int | None = None,
    detail: str = "",
    user_id: int | None = None,
    commit: bool = True,
) -> AuditEvent:
    """Append one event; `action` must be an AuditAction value (a typo fails loudly in tests).

    `commit=False` leaves the row in the caller's transaction so it lands with the change itself.
    """
    try:
        action = AuditAction(action).value
    except ValueError:
        raise ValueError(f"unknown audit action {action!r}") from None
    event = AuditEvent(
        at=utcnow(),
        user_id=user_id,
        user_email=(user_email or "")[:254],
        action=action,
        integration_id=integration_id,
        traffic_source_id=source_id,
        detail=scrub(detail),
    )
    session.add(event)
    if commit:
        session.commit()
        session.refresh(event)
    return event


def record_by(
    session: Session,
    actor: Actor,
    action: AuditAction,
    *,
    integration_id: int | None = None,
    source_id: int | None = None,
    detail: str = "",
) -> AuditEvent:
    """Append the actor's event to the caller's transaction (it lands with the change it describes)."""
    return record(
        session,
        actor.email,
        action,
        integration_id=integration_id,
        source_id=source_id,
        detail=detail,
        user_id=actor.user_id,
        commit=False,
    )


def recent_for_integration(session: Session, integration_id: int, limit: int = 50) -> list[AuditEvent]:
    """The newest events for one integration, newest first."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.integration_id == integration_id)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def recent(session: Session, limit: int = 100, *, source_id: int | None = None) -> list[AuditEvent]:
    """The newest events overall (or for one traffic source), newest first."""
    stmt = select(AuditEvent)
    if source_id is not None:
        stmt = stmt.where(AuditEvent.traffic_source_id == source_id)
    stmt = stmt.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit)
    return list(session.exec(stmt).all())


def scan_for_secrets(paths: list[Path], needles: list[str]) -> list[tuple[Path, str]]:
    """Which (file, needle) pairs occur: proves the database, its WAL and the logs hold no token.

    Files are read as bytes (SQLite pages are binary); missing files are skipped; empty needles
    are ignored. Checks the raw text and its URL-encoded and JSON-escaped forms.
    """
    from urllib.parse import quote

    forms = {}
    for needle in needles:
        if needle:
            variants = {needle, quote(needle, safe=""), needle.replace("/", "\\/")}
            forms[needle] = [v.encode() for v in variants]
    found: list[tuple[Path, str]] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            continue
        data = path.read_bytes()
        for needle, encoded in forms.items():
            if any(e in data for e in encoded):
                found.append((path, needle))
    return found
