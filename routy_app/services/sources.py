"""Traffic sources: admins create and rename them (each has its own integrations and conversions)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from routy_app.db import session_scope
from routy_app.errors import Conflict, NotFound, UserFacingError
from routy_app.models import TrafficSource
from routy_app.services.audit import Actor, AuditAction, record_by

MAX_NAME = 200


def _clean(name: object) -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise UserFacingError("Give the traffic source a name.", field="name")
    if len(text) > MAX_NAME:
        raise UserFacingError(f"At most {MAX_NAME} characters.", field="name")
    return text


def _taken(session: Session, name: str, except_id: int | None = None) -> bool:
    query = select(TrafficSource.id).where(func.lower(TrafficSource.name) == name.lower())
    if except_id is not None:
        query = query.where(TrafficSource.id != except_id)
    return session.exec(query).first() is not None


def create_source(name: object, *, actor: Actor) -> int:
    """A new traffic source; returns its id. Names are unique, whatever their case."""
    text = _clean(name)
    with session_scope() as session:
        if _taken(session, text):
            raise Conflict(f"A traffic source named {text!r} exists already.", field="name")
        source = TrafficSource(name=text)
        session.add(source)
        session.flush()
        source_id = int(source.id or 0)
        record_by(session, actor, AuditAction.SOURCE_CREATED, source_id=source_id, detail=text)
        session.commit()
    return source_id


def rename_source(source_id: int, name: object, *, actor: Actor) -> str:
    """Rename a traffic source; returns the new name."""
    text = _clean(name)
    with session_scope() as session:
        source = session.get(TrafficSource, source_id)
        if source is None:
            raise NotFound("This traffic source does not exist.")
        if _taken(session, text, except_id=source_id):
            raise Conflict(f"A traffic source named {text!r} exists already.", field="name")
        old = source.name
        source.name = text
        session.add(source)
        record_by(session, actor, AuditAction.SOURCE_RENAMED, source_id=source_id, detail=f"{old} → {text}")
        session.commit()
    return text
