"""Ingest API keys: one per traffic source, shown once, stored as a hash; rotating replaces it."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlmodel import Session, select

from routy_app.models import TrafficSource
from routy_app.services.audit import Actor, AuditAction, record_by
from routy_app.services.conversions.validation import API_KEY_PREFIX
from routy_app.timeutil import utcnow

# ---------------------------------------------------------------- API keys


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(session: Session, source_id: int, *, actor: Actor | None = None) -> str:
    """A new ingest key for the source; returns the plaintext (shown once). Replaces any older key.

    A joiner on purpose: the CLI and tests create keys inside their own transaction; a person's rotation
    (`actor`) is audited in it.
    """
    source = session.get(TrafficSource, source_id)
    if source is None:
        raise LookupError(f"Traffic source {source_id} does not exist.")
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    source.api_key_hash = _key_hash(key)
    source.api_key_last4 = key[-4:]
    source.api_key_created_at = utcnow()
    session.add(source)
    if actor is not None:
        record_by(session, actor, AuditAction.API_KEY_ROTATED, source_id=source_id)
    session.commit()
    return key


def source_for_key(session: Session, key: str | None) -> TrafficSource | None:
    """The traffic source owning `key`, or None. Compares hashes in constant time."""
    if not key or not key.startswith(API_KEY_PREFIX) or len(key) > 200:
        return None
    digest = _key_hash(key)
    source = session.exec(select(TrafficSource).where(TrafficSource.api_key_hash == digest)).first()
    if source is None or not source.api_key_hash or not hmac.compare_digest(source.api_key_hash, digest):
        return None
    return source


def describe_key(session: Session, source_id: int) -> str:
    """What the UI shows about the current key (never the key itself)."""
    source = session.get(TrafficSource, source_id)
    if source is None or not source.api_key_hash:
        return "No API key yet."
    when = source.api_key_created_at.strftime("%Y-%m-%d %H:%M UTC") if source.api_key_created_at else "?"
    return f"{API_KEY_PREFIX}…{source.api_key_last4} (created {when})"
