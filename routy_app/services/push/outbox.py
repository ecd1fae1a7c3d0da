"""Queueing conversions for push: one ConversionPush row per integration x conversion x mapping.

Called at ingest (same transaction as the conversion) and by the push job's catch-up scan, so a
conversion that arrived while the app was down, or before a mapping existed, is still queued.
The unique key makes both idempotent: a second enqueue of the same triple inserts nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col

from routy_app.models import (
    Conversion,
    ConversionMapping,
    ConversionPush,
    Direction,
    Integration,
    IntegrationStatus,
    table_of,
)
from routy_app.providers import registry
from routy_app.providers.definition import Capability
from routy_app.timeutil import utcnow

PUSH_PROVIDERS = [d.key for d in registry.with_capability(Capability.PUSH)]
# Statuses that keep a queue: paused and reconnect-needed integrations flush later; pending has no account.
QUEUEING_STATUSES = [
    IntegrationStatus.ACTIVE,
    IntegrationStatus.PAUSED,
    IntegrationStatus.RECONNECT_REQUIRED,
    IntegrationStatus.NEEDS_ATTENTION,
]


_PUSH_TABLE = table_of(ConversionPush)


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def enqueue_query(conversion_filter: ColumnElement[bool]) -> Select[int | None, int | None, int | None]:
    """SELECT the (integration, conversion, mapping) triples that should be queued."""
    return (
        select(col(Integration.id), col(Conversion.id), col(ConversionMapping.id))
        .join(Integration, col(Integration.traffic_source_id) == col(Conversion.traffic_source_id))
        .join(
            ConversionMapping,
            and_(
                col(ConversionMapping.integration_id) == col(Integration.id),
                col(ConversionMapping.event_type) == col(Conversion.event_type),
                col(ConversionMapping.enabled).is_(True),
            ),
        )
        .where(
            conversion_filter,
            col(Integration.provider).in_(PUSH_PROVIDERS),
            col(Integration.status).in_(QUEUEING_STATUSES),
            col(Integration.direction).in_([Direction.PUSH, Direction.BIDIRECTIONAL]),
        )
    )


def enqueue_for_conversions(session: Session, conversion_ids: Iterable[int]) -> int:
    """Queue the given conversions for every matching integration + enabled mapping; returns rows added.

    Does not commit: the caller's transaction decides (ingest commits conversion and queue together).
    """
    ids = list(conversion_ids)
    if not ids:
        return 0
    return _enqueue(session, col(Conversion.id).in_(ids))


def enqueue_missing(session: Session, since: dt.datetime | None = None) -> int:
    """Catch-up: queue every conversion (optionally received since a time) that lacks its rows."""
    condition = col(Conversion.received_at) >= since if since is not None else col(Conversion.id).is_not(None)
    return _enqueue(session, condition)


def _enqueue(session: Session, condition: ColumnElement[bool]) -> int:
    now = utcnow()
    triples = enqueue_query(condition).subquery()
    stmt = (
        _insert(session)(_PUSH_TABLE)
        .from_select(
            ["integration_id", "conversion_id", "mapping_id", "status", "attempts", "next_attempt_at", "created_at"],
            select(
                triples.c[0], triples.c[1], triples.c[2], _literal("pending"), _literal(0), _literal(now), _literal(now)
            ).where(triples.c[0].is_not(None)),  # SQLite needs a WHERE before ON CONFLICT
        )
        .on_conflict_do_nothing(index_elements=["integration_id", "conversion_id", "mapping_id"])
    )
    session.flush()  # a Core statement does not autoflush: the conversions and mappings it selects must be in
    # preserve_rowcount: SQLAlchemy only keeps an INSERT's rowcount when asked (psycopg answers -1 otherwise)
    return session.connection().execute(stmt.execution_options(preserve_rowcount=True)).rowcount


def _literal(value: object) -> Any:
    from sqlalchemy import literal

    if hasattr(value, "tzinfo"):
        from routy_app.models import UTCDateTime

        return literal(value, type_=UTCDateTime())
    return literal(value)
