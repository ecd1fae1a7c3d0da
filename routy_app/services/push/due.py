"""Which outbox rows are due, read fast, and turned into the adapter's batches (one per provider action).

The read is the push engine's hot path: a prebuilt Core SELECT joined with the conversion, plain driver
rows fetched a hundred at a time, each OutgoingConversion built positionally from its columns (see
`_OUT_COLUMNS`). Skips (outside the provider's window, no identifier it matches on, mapping disabled) are
written on the way, one UPDATE per reason.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, union_all
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection
from sqlmodel import col, select

from routy_app.db import PlainRows, session_scope
from routy_app.models import (
    Conversion,
    ConversionMapping,
    ConversionPush,
    Direction,
    Integration,
    IntegrationStatus,
    UTCDateTime,
    table_of,
)
from routy_app.providers import registry
from routy_app.providers.values import ConversionAction, OutgoingConversion
from routy_app.services.push.outcomes import Batch, write_skips
from routy_app.services.push.rules import dedup_key, make_action, too_old, window_start
from routy_app.services.push.tally import Tally
from routy_app.timeutil import utcnow

RUNNABLE = (IntegrationStatus.ACTIVE, IntegrationStatus.NEEDS_ATTENTION)
PUSH_DIRECTIONS = (Direction.PUSH, Direction.BIDIRECTIONAL)

# Statements built once (building a SELECT costs SQLAlchemy about a millisecond per read); binds:
# integration, now, limit.
_cp = table_of(ConversionPush).c
_INTEGRATION: BindParameter[int] = bindparam("integration")
_NOW = bindparam("now", type_=UTCDateTime())
_LIMIT: BindParameter[int] = bindparam("limit")


def _due_scan(status: str) -> Select[Any]:
    """Due rows of one status: an index range scan on ix_push_due (integration, status, next_attempt_at).

    One SELECT per status rather than one OR: with an OR, SQLite (and PostgreSQL) walk every row of the
    integration, sent history included, on each read.
    """
    # pending rows always carry a next_attempt_at (see models.ConversionPush)
    return select(_cp.id).where(_cp.integration_id == _INTEGRATION, _cp.status == status, _cp.next_attempt_at <= _NOW)


_DUE_SCANS = (_due_scan("pending"), _due_scan("failed"))
# Up to `limit` due row ids (each range scan stops at `limit`).
_DUE_IDS = select(
    union_all(*(select(scan.limit(_LIMIT).subquery().c.id) for scan in _DUE_SCANS)).subquery().c.id
).limit(_LIMIT)


def has_due(integration_id: int) -> bool:
    """True when some row of the integration is due (cheap: stops at the first one)."""
    params = {"integration": integration_id, "now": utcnow()}
    with session_scope() as session:
        conn = session.connection()
        return any(conn.execute(scan.limit(1), params).first() is not None for scan in _DUE_SCANS)


_conversion = table_of(Conversion)
# The adapter's input straight from one joined row: OutgoingConversion's fields after (key, event_type,
# action) are Conversion columns of the same names, selected in the dataclass's order (occurred_at first:
# the one _prepare converts).
_OUT_COLUMNS = [_conversion.c[f.name] for f in dataclasses.fields(OutgoingConversion)[3:]]
if _OUT_COLUMNS[0].name != "occurred_at":
    raise RuntimeError("OutgoingConversion's fields changed order: _prepare reads occurred_at fourth")


_cv = _conversion.c
# Due rows joined with their conversion, in one Core SELECT; binds: integration, now, limit.
_LOAD_DUE = PlainRows(
    core_select(_cp.id, _cp.mapping_id, _cv.traffic_source_id, _cv.external_id, _cv.event_type, *_OUT_COLUMNS)
    .join(_conversion, _cv.id == _cp.conversion_id)
    .where(_cp.id.in_(_DUE_IDS))
    .order_by(_cp.id)
)
_cm = table_of(ConversionMapping).c
_MAPPING_ACTIONS = core_select(_cm.id, _cm.enabled, _cm.action_id, _cm.action_name, _cm.extra_json)


def _as_is(value: Any) -> Any:
    return value


class MappingActions(dict[int, ConversionAction | None]):
    """Mapping id -> its provider action, or None when the mapping is disabled or gone.

    Read once per chunk; a mapping added after the chunk began is read on its first miss (`__missing__`,
    the dict's own hook for "load on first use").
    """

    def __init__(self, conn: Connection, integration_id: int) -> None:
        super().__init__(self._actions(conn, _cm.integration_id == integration_id))
        self.conn = conn

    def __missing__(self, mapping_id: int) -> ConversionAction | None:  # added after the chunk began
        self.update(self._actions(self.conn, _cm.id == mapping_id))
        return self.setdefault(mapping_id, None)

    @staticmethod
    def _actions(conn: Connection, where: Any) -> list[tuple[int, ConversionAction | None]]:
        return [
            (mapping_id, make_action(action_id, name, extra_json) if enabled else None)
            for mapping_id, enabled, action_id, name, extra_json in conn.execute(_MAPPING_ACTIONS.where(where))
        ]


def prepare(
    integration_id: int, provider_key: str, limit: int, run_id: int, tally: Tally
) -> tuple[list[int], list[Batch]]:
    """Read up to `limit` due rows; record skips; group the rest by action (one pixel / destination per
    request). Returns (ids read, batches).

    Reads plain column rows (not ORM objects) and builds each OutgoingConversion positionally: this
    loop runs for every pushed event.
    """
    now = utcnow()
    start = window_start(provider_key, now)
    missing_identifier = registry.get(provider_key).missing_identifier  # the provider's rule, bound once
    read: list[int] = []
    groups: dict[str, Batch] = defaultdict(Batch)
    skips: dict[str, list[int]] = defaultdict(list)
    make = OutgoingConversion
    with session_scope() as session:
        conn = session.connection()
        actions = MappingActions(conn, integration_id)
        # The driver's plain rows (db.PlainRows), fetched a hundred at a time (fetchmany: cheaper per row
        # than one by one; a hundred rows alive at once stay below the cyclic GC's first threshold).
        utc = _LOAD_DUE.result_processor(conn, "occurred_at") or _as_is
        for part in _LOAD_DUE.fetch(conn, {"integration": integration_id, "now": now, "limit": limit}):
            for push_id, mapping_id, source_id, external_id, event_type, occurred_at, *values in part:
                read.append(push_id)
                action = actions[mapping_id]
                if action is None:
                    skips["mapping disabled"].append(push_id)
                    continue
                conv = make(dedup_key(source_id, external_id), event_type, action, utc(occurred_at), *values)
                reason = (
                    too_old(provider_key, conv, now, start) if conv.occurred_at < start else None
                ) or missing_identifier(conv)
                if reason:
                    skips[reason].append(push_id)
                    continue
                batch = groups[action.id]
                batch.ids.append(push_id)
                batch.convs.append(conv)
        write_skips(conn, skips, run_id, tally)
        session.commit()
    return read, list(groups.values())


def integrations_with_due_rows() -> list[int]:
    with session_scope() as session:
        ids = session.exec(
            select(Integration.id).where(
                col(Integration.status).in_(list(RUNNABLE)),
                col(Integration.direction).in_(list(PUSH_DIRECTIONS)),
            )
        ).all()
    return [int(i) for i in ids if i is not None and has_due(int(i))]
