"""Storing conversion events: idempotent by the caller's id, queued for push in the same transaction.

Why one entry point: the API, the postback URL and the UI's test form all go through `ingest_events`,
so every entry point validates the same way and stores + queues in one transaction (a conversion is
committed, with its outbox rows, before anything answers 2xx). The caller's `id` is the idempotency key:
sending it again changes nothing and returns the stored event.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from routy_app.models import Conversion, ConversionPush, saved_id
from routy_app.services.conversions.validation import MAX_BATCH, FieldError, ValidationFailed, validate_event
from routy_app.services.push import outbox
from routy_app.timeutil import utcnow

# ---------------------------------------------------------------- ingest


@dataclass(frozen=True)
class StoredEvent:
    """What the API answers for one event."""

    conversion_id: int
    external_id: str
    event_type: str
    received_at: dt.datetime
    status: str  # created | duplicate
    queued_pushes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.conversion_id,
            "external_id": self.external_id,
            "event_type": self.event_type,
            "received_at": self.received_at.isoformat().replace("+00:00", "Z"),
            "status": self.status,
            "queued_pushes": self.queued_pushes,
        }


def ingest_events(session: Session, source_id: int, events: list[Any]) -> list[StoredEvent]:
    """Validate all, then store the new ones and queue their pushes in ONE transaction (committed here).

    Any invalid event refuses the whole request (ValidationFailed, nothing stored). An id already
    stored (or repeated within the request) is a duplicate: the stored event is returned unchanged.
    """
    if not isinstance(events, list) or not events:
        raise ValidationFailed([FieldError(0, "events", "send one event object or a non-empty array")])
    if len(events) > MAX_BATCH:
        raise ValidationFailed([FieldError(0, "events", f"at most {MAX_BATCH} events per request")])
    now = utcnow()
    values: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    for index, raw in enumerate(events):
        row, problems = validate_event(raw, index, now)
        errors += problems
        values.append(row)
    if errors:
        raise ValidationFailed(errors)

    order = [row["external_id"] for row in values]
    fresh: dict[str, dict[str, Any]] = {}
    for row in values:
        fresh.setdefault(row["external_id"], row)  # a repeat inside the request is a duplicate of the first
    created_ids = _insert_new(session, source_id, list(fresh.values()), now)
    if created_ids:
        outbox.enqueue_for_conversions(session, created_ids.values())
    session.commit()
    return _stored(session, source_id, order, set(created_ids))


def _insert_new(session: Session, source_id: int, rows: list[dict[str, Any]], now: dt.datetime) -> dict[str, int]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING: exactly the rows this request created (race-safe)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    payload = [{**row, "traffic_source_id": source_id, "received_at": now} for row in rows]
    stmt = (
        insert(Conversion)
        .on_conflict_do_nothing(index_elements=["traffic_source_id", "external_id"])
        .returning(col(Conversion.id), col(Conversion.external_id))
    )
    created: dict[str, int] = {}
    for result in session.execute(stmt, payload).all():
        created[result.external_id] = int(result.id)
    return created


def _stored(session: Session, source_id: int, order: list[str], created: set[str]) -> list[StoredEvent]:
    unique = list(dict.fromkeys(order))
    rows = {
        c.external_id: c
        for c in session.exec(
            select(Conversion).where(
                col(Conversion.traffic_source_id) == source_id, col(Conversion.external_id).in_(unique)
            )
        )
    }
    counts = queued_counts(session, [saved_id(c) for c in rows.values()])
    out: list[StoredEvent] = []
    seen: set[str] = set()
    for external_id in order:
        conv = rows[external_id]
        status = "created" if external_id in created and external_id not in seen else "duplicate"
        seen.add(external_id)
        out.append(
            StoredEvent(
                saved_id(conv),
                conv.external_id,
                conv.event_type,
                conv.received_at,
                status,
                counts.get(saved_id(conv), 0),
            )
        )
    return out


def queued_counts(session: Session, conversion_ids: Iterable[int]) -> dict[int, int]:
    """Outbox rows per conversion (one per integration x mapping that will push it)."""
    ids = list(conversion_ids)
    if not ids:
        return {}
    query = (
        select(ConversionPush.conversion_id, func.count())
        .where(col(ConversionPush.conversion_id).in_(ids))
        .group_by(col(ConversionPush.conversion_id))
    )
    return {int(cid): int(n) for cid, n in session.exec(query)}


# ---------------------------------------------------------------- UI helpers


def record_test_conversion(session: Session, source_id: int, fields: Mapping[str, Any]) -> Conversion:
    """The Conversions tab's form: same validation and queueing as the API; blank fields are dropped.

    Without an id a unique `test-…` id is generated; without occurred_at it is now.
    """
    event: dict[str, Any] = {k: v for k, v in fields.items() if v not in (None, "") and k != "consent"}
    consent = {k: v for k, v in (fields.get("consent") or {}).items() if v not in (None, "")}
    if consent:
        event["consent"] = consent
    event.setdefault("id", f"test-{uuid.uuid4().hex[:12]}")
    event.setdefault("occurred_at", utcnow().isoformat())
    stored = ingest_events(session, source_id, [event])[0]
    conv = session.get(Conversion, stored.conversion_id)
    assert conv is not None
    return conv
