"""Conversions out: the outbox push engine (read due rows, batch, send, record per-event outcomes, backoff).

Delivery is at-least-once and never loses a row:
- A run holds the integration's push lock (a Lease row, services/runs.py: renewed in the background and
  checked before its reads and requests; a run that lost it stops), so no two runs of one integration send
  the same rows, whichever process they are in. Rows stay "pending" until their outcome is written: a
  process that dies mid-push leaves them due, and the next run (as soon as the dead holder is reclaimed)
  reads and sends them again.
- Every event carries the same dedup key on every attempt (`dedup_key`: Google `transactionId`,
  Meta `event_id`, GA4 `transaction_id`), so a resend after a crash is not a double count.
- Outcomes per event: sent (provider answer + Google request id), failed (provider's reason;
  transient -> retried with exponential backoff + jitter, 1 min .. 6 h; permanent -> waits for the
  user's Retry), skipped (no identifier the provider needs, older than its window, mapping disabled).
- Events rejected only because *another* event of the batch was bad go straight back to pending
  (no attempt counted) and are resent in the same run without it.
- Authorisation refused: the unsent rows stay pending untouched, the integration becomes
  Reconnection Required. Paused / reconnect-needed integrations keep their queue; resume flushes it.

Why no per-row claim: the lock already keeps runs apart, and marking each row "sending" before the
request cost a second write per event (a third of the engine's database time).

Every request that accepted events is one PushRequest row (the provider's answer, Google's request
id and verdict); its sent rows point to it, so answer and verdict are written once per request.
`poll_verdicts` asks Data Manager for the asynchronous verdict of requests whose check is due.

Each run is a SyncRun (kind "push"): read = rows read, inserted = sent, failed = failed; counts per
failure and skip reason are in the run's text, `records_updated` stays 0 (services/push_outcome.py
decides the run's status and what it means for the integration).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import bindparam, func, insert, union_all, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from routy_app.db import PlainRows, session_scope
from routy_app.models import (
    Conversion,
    ConversionMapping,
    ConversionPush,
    Direction,
    Integration,
    IntegrationStatus,
    PushRequest,
    UTCDateTime,
)
from routy_app.providers import registry
from routy_app.providers.definition import Capability
from routy_app.providers.errors import AuthExpired, ProviderError, RateLimited, TransientError
from routy_app.providers.protocols import ConversionSink, VerdictSource, ability
from routy_app.providers.values import Account, ConversionAction, Credentials, OutgoingConversion, PushResult
from routy_app.services import connections, outbox, push_outcome, runs
from routy_app.services.hub import ProviderHub
from routy_app.services.wording import sentence
from routy_app.timeutil import utcnow

log = logging.getLogger("routy.push")

CHUNK_ROWS = 10_000  # due rows read at a time; batches are cut from a chunk
MAX_REQUESTS_PER_CHUNK = 20  # small batches (GA4: 25) are read a few hundred at a time, not thousands
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=6)
WINDOW_MARGIN = dt.timedelta(minutes=10)  # skip a little before the provider's own cut-off
VERDICT_FIRST = dt.timedelta(minutes=1)  # Google suggests ~30 min; the sandbox answers at once
VERDICT_EVERY = dt.timedelta(minutes=1)
VERDICT_MAX = dt.timedelta(hours=24)  # no verdict after this: recorded as unknown
RUNNABLE = (IntegrationStatus.ACTIVE, IntegrationStatus.NEEDS_ATTENTION)
PUSH_DIRECTIONS = (Direction.PUSH, Direction.BIDIRECTIONAL)
GA4_KEY_LIMIT = 100  # GA4 param values are at most 100 characters; keys are kept under it everywhere


@dataclass(frozen=True)
class PushSummary:
    """What one run did; `message` is what the UI shows after Sync Now."""

    integration_id: int
    run_id: int | None
    read: int = 0  # outbox rows read (sent, failed or skipped)
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    status: str = "idle"  # idle | success | partial | failed | paused | reconnect_required
    message: str = ""


@dataclass(frozen=True)
class TestPushResult:
    payload_json: str
    answer_text: str
    ok: bool


class PushProblem(Exception):
    """A user-facing refusal (e.g. retrying a row that is not failed)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------- keys, rules


def dedup_key(traffic_source_id: int, external_id: str) -> str:
    """The provider dedup key of a conversion: stable across attempts, processes and providers."""
    key = f"{traffic_source_id}:{external_id}"
    if len(key) <= GA4_KEY_LIMIT:
        return key
    return f"{traffic_source_id}:h:{hashlib.sha256(external_id.encode('utf-8')).hexdigest()[:40]}"


def backoff(attempts: int, retry_after: float | None = None) -> dt.timedelta:
    """Delay before the next attempt: 1 min doubling per attempt, +-20 % jitter, capped at 6 h."""
    base = min(BACKOFF_CAP.total_seconds(), BACKOFF_FIRST.total_seconds() * 2 ** max(0, attempts - 1))
    delay = base * random.uniform(0.8, 1.2)
    if retry_after:
        delay = max(delay, retry_after)
    return dt.timedelta(seconds=min(delay, BACKOFF_CAP.total_seconds()))


def missing_identifier(provider: str, conv: OutgoingConversion) -> str | None:
    """Why the provider could not attribute this conversion, or None when it can (the provider's rule)."""
    return registry.get(provider).missing_identifier(conv)


def window_start(provider: str, now: dt.datetime) -> dt.datetime:
    """Conversions that occurred before this are outside the provider's window (with a safety margin)."""
    return now - registry.get(provider).push_window + WINDOW_MARGIN


def too_old(provider: str, conv: Any, now: dt.datetime, start: dt.datetime | None = None) -> str | None:
    if conv.occurred_at < (start or window_start(provider, now)):
        definition = registry.get(provider)
        return f"older than {definition.name}'s {definition.push_window_text} window"
    return None


def action_of(mapping: ConversionMapping) -> ConversionAction:
    return _action(mapping.action_id, mapping.action_name, mapping.extra_json)


def _action(action_id: str, name: str, extra_json: str | None) -> ConversionAction:
    return ConversionAction(id=action_id, name=name, extra=json.loads(extra_json or "{}"))


def outgoing(conv: Any, mapping: ConversionMapping | ConversionAction) -> OutgoingConversion:
    """The adapter's input for one conversion (a Conversion or a row with its columns) and its target."""
    action = mapping if isinstance(mapping, ConversionAction) else action_of(mapping)
    return OutgoingConversion(
        key=dedup_key(conv.traffic_source_id, conv.external_id),
        event_type=conv.event_type,
        action=action,
        occurred_at=conv.occurred_at,
        value_micros=conv.value_micros,
        currency=conv.currency,
        gclid=conv.gclid,
        gbraid=conv.gbraid,
        wbraid=conv.wbraid,
        fbc=conv.fbc,
        fbp=conv.fbp,
        ga_client_id=conv.ga_client_id,
        email_sha256=conv.email_sha256,
        phone_sha256=conv.phone_sha256,
        email_sha256_meta=conv.email_sha256_meta,
        phone_sha256_meta=conv.phone_sha256_meta,
        user_agent=conv.user_agent,
        ip=conv.ip,
        consent_ad_user_data=conv.consent_ad_user_data,
        consent_ad_personalization=conv.consent_ad_personalization,
        origin=conv.origin,
    )


# ---------------------------------------------------------------- due rows


# Statements built once (building a SELECT costs SQLAlchemy about a millisecond per read); binds:
# integration, now, limit.
_cp = ConversionPush.__table__.c
_INTEGRATION = bindparam("integration")
_NOW = bindparam("now", type_=UTCDateTime())
_LIMIT = bindparam("limit")


def _due_scan(status: str):  # noqa: ANN202 - a SELECT of ids
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


ID_CHUNK = 5000  # ids per statement (well under SQLite's and PostgreSQL's bound-parameter limits)
_AT = bindparam("at", type_=UTCDateTime())


@dataclass(frozen=True)
class _IdList:
    """Core statements over a list of outbox row ids given in one bind, and how to bind the list.

    SQLite gets the list as one JSON text (`id IN (SELECT value FROM json_each(?))`): rendering an
    expanding bind costs SQLAlchemy a few microseconds per id on every execution, this one json.dumps.
    Other databases get one expanding bind (compiled once and cached, whatever the list's length).
    """

    where: Any
    json_text: bool

    def bind(self, ids: list[int]) -> dict[str, Any]:
        return {"ids_json": json.dumps(ids)} if self.json_text else {"ids": ids}

    @functools.cached_property
    def mark_sent(self):  # noqa: ANN202 - params: ids, at, request, run
        return (
            update(ConversionPush.__table__)
            .where(self.where)
            .values(
                status="sent",
                sent_at=_AT,
                attempts=_cp.attempts + 1,
                push_request_id=bindparam("request"),
                provider_response=None,
                provider_error=None,
                run_id=bindparam("run"),
                next_attempt_at=None,
            )
        )

    @functools.cached_property
    def mark_skipped(self):  # noqa: ANN202 - params: ids, reason, run
        return (
            update(ConversionPush.__table__)
            .where(self.where)
            .values(status="skipped", skip_reason=bindparam("reason"), next_attempt_at=None, run_id=bindparam("run"))
        )

    @functools.cached_property
    def attempts(self):  # noqa: ANN202 - params: ids
        return select(_cp.id, _cp.attempts).where(self.where)

    @staticmethod
    def of(conn: Connection) -> _IdList:
        return _JSON_IDS if conn.dialect.name == "sqlite" else _LIST_IDS


_JSON_IDS = _IdList(_cp.id.in_(select(func.json_each(bindparam("ids_json")).table_valued("value").c.value)), True)
_LIST_IDS = _IdList(_cp.id.in_(bindparam("ids", expanding=True)), False)


def has_due(integration_id: int) -> bool:
    """True when some row of the integration is due (cheap: stops at the first one)."""
    params = {"integration": integration_id, "now": utcnow()}
    with session_scope() as session:
        conn = session.connection()
        return any(conn.execute(scan.limit(1), params).first() is not None for scan in _DUE_SCANS)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------- the run


_Tally = push_outcome.Tally


async def run_push(hub: ProviderHub, integration_id: int, trigger: str = "schedule") -> PushSummary:
    """Send every due outbox row of the integration; records a SyncRun when there was work (or manual).

    Raises runs.AlreadyRunning when another push of this integration is in progress.
    """
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            return PushSummary(integration_id, None, status="failed", message="This integration no longer exists.")
        status, provider_key, direction = integration.status, integration.provider, integration.direction
        account = connections.account_of(integration)
    if status == IntegrationStatus.PAUSED:
        return PushSummary(integration_id, None, status="paused", message="Paused: conversions stay queued.")
    if status not in RUNNABLE:
        return PushSummary(
            integration_id,
            None,
            status=str(status),
            message="Reconnect to push: conversions stay queued."
            if status == IntegrationStatus.RECONNECT_REQUIRED
            else "Finish connecting first.",
        )
    if direction not in PUSH_DIRECTIONS:
        return PushSummary(integration_id, None, status="idle", message="Push is off (direction is pull).")
    if trigger != "manual" and not has_due(integration_id):
        return PushSummary(integration_id, None, message="Nothing to push.")
    async with runs.run_lock(integration_id, scope="push") as lease:
        run_id = runs.open_run(integration_id, "push", trigger, lease.holder)
        tally = _Tally()
        outcome = "done"
        try:
            outcome = await _push_all(hub, integration_id, provider_key, account, run_id, lease, tally)
        except Exception as exc:
            log.exception("push run %s of integration %s crashed", run_id, integration_id)
            tally.errors.append(f"Internal error: {type(exc).__name__}")
            outcome = "error"
            raise
        finally:
            summary = _close(integration_id, run_id, tally, outcome)
    return summary


def _close(integration_id: int, run_id: int, tally: _Tally, outcome: str) -> PushSummary:
    status, message = push_outcome.close(integration_id, run_id, tally, outcome)
    return PushSummary(integration_id, run_id, tally.read, tally.sent, tally.failed, tally.skipped, status, message)


async def _push_all(
    hub: ProviderHub,
    integration_id: int,
    provider_key: str,
    account: Account,
    run_id: int,
    lease: runs.HeldLease,
    tally: _Tally,
) -> str:
    """Read-send-record until nothing is due; 'auth' when authorisation was refused."""
    try:
        async with connections.provider_session(hub, integration_id) as (provider, creds, _):
            sink = ability(provider, ConversionSink)
            return await _send_loop(sink, integration_id, provider_key, account, creds, run_id, lease, tally)
    except AuthExpired as exc:  # the door marked the integration; what was not sent stays pending, untouched
        tally.errors.append(auth_refused(exc))
        return "auth"
    except connections.ConnectionProblem as exc:
        tally.errors.append(exc.message)
        return "error"


async def _send_loop(
    provider: ConversionSink,
    integration_id: int,
    provider_key: str,
    account: Account,
    creds: Credentials,
    run_id: int,
    lock: runs.HeldLease,
    tally: _Tally,
) -> str:
    """Read a chunk of due rows, send it batch by batch, record outcomes; repeat until nothing is due.

    Every row read gets an outcome before the next read, so the loop ends: the only outcome that leaves
    a row due is a collateral rejection, and `requeued` allows that once per row and run.
    """
    limit = registry.get(provider_key).push_batch_limit
    chunk = max(limit, min(CHUNK_ROWS // limit, MAX_REQUESTS_PER_CHUNK) * limit)  # whole batches per chunk
    requeued: set[int] = set()
    while True:
        if not lock.keep():
            tally.errors.append(LOCK_LOST)
            return "error"
        read, batches = _prepare(integration_id, provider_key, chunk, run_id, tally)
        if not read:
            return "done"
        tally.read += len([i for i in read if i not in requeued])
        for batch in batches:
            for part in batch.parts(limit):
                if not lock.keep():  # another process owns the queue now: what is unsent stays pending
                    tally.errors.append(LOCK_LOST)
                    return "error"
                try:
                    results = await provider.push_conversions(creds, account, part.convs)
                except AuthExpired:
                    raise  # to _push_all, outside the door
                except ProviderError as exc:
                    if _batch_failed(part.ids, exc, run_id, tally):
                        return "error"  # the provider is down or throttling: the rest waits for the next run
                    continue
                _record(integration_id, part, results, run_id, tally, requeued)


LOCK_LOST = "The push lock was taken over by another process; the rest of the queue is left to it."


def auth_refused(exc: AuthExpired) -> str:
    return sentence(f"Authorisation refused: {exc.message}") + " Conversions stay queued; reconnect."


@dataclass
class _Batch:
    """Events for one provider action: outbox row ids and the adapter's inputs, index for index
    (two lists rather than a pair per event: one object fewer per event for the cyclic GC)."""

    ids: list[int] = dataclasses.field(default_factory=list)
    convs: list[OutgoingConversion] = dataclasses.field(default_factory=list)

    def parts(self, size: int) -> list[_Batch]:
        return [_Batch(self.ids[i : i + size], self.convs[i : i + size]) for i in range(0, len(self.ids), size)]


# The adapter's input straight from one joined row: OutgoingConversion's fields after (key, event_type,
# action) are Conversion columns of the same names, selected in the dataclass's order (occurred_at first:
# the one _prepare converts).
_OUT_COLUMNS = [Conversion.__table__.c[f.name] for f in dataclasses.fields(OutgoingConversion)[3:]]
if _OUT_COLUMNS[0].name != "occurred_at":
    raise RuntimeError("OutgoingConversion's fields changed order: _prepare reads occurred_at fourth")


_cv = Conversion.__table__.c
# Due rows joined with their conversion, in one Core SELECT; binds: integration, now, limit.
_LOAD_DUE = PlainRows(
    select(_cp.id, _cp.mapping_id, _cv.traffic_source_id, _cv.external_id, _cv.event_type, *_OUT_COLUMNS)
    .join(Conversion.__table__, _cv.id == _cp.conversion_id)
    .where(_cp.id.in_(_DUE_IDS))
    .order_by(_cp.id)
)
_cm = ConversionMapping.__table__.c
_MAPPING_ACTIONS = select(_cm.id, _cm.enabled, _cm.action_id, _cm.action_name, _cm.extra_json)


def _as_is(value: Any) -> Any:
    return value


class _Actions(dict):
    """Mapping id -> its provider action, or None when the mapping is disabled or gone (read once a chunk)."""

    def __init__(self, conn: Connection, integration_id: int) -> None:
        super().__init__(self._actions(conn, _cm.integration_id == integration_id))
        self.conn = conn

    def __missing__(self, mapping_id: int) -> ConversionAction | None:  # added after the chunk began
        self.update(self._actions(self.conn, _cm.id == mapping_id))
        return self.setdefault(mapping_id, None)

    @staticmethod
    def _actions(conn: Connection, where: Any) -> list[tuple[int, ConversionAction | None]]:
        return [
            (mapping_id, _action(action_id, name, extra_json) if enabled else None)
            for mapping_id, enabled, action_id, name, extra_json in conn.execute(_MAPPING_ACTIONS.where(where))
        ]


def _prepare(
    integration_id: int, provider_key: str, limit: int, run_id: int, tally: _Tally
) -> tuple[list[int], list[_Batch]]:
    """Read up to `limit` due rows; record skips; group the rest by action (one pixel / destination per
    request). Returns (ids read, batches).

    Reads plain column rows (not ORM objects) and builds each OutgoingConversion positionally: this
    loop runs for every pushed event.
    """
    now = utcnow()
    start = window_start(provider_key, now)
    missing_identifier = registry.get(provider_key).missing_identifier  # the provider's rule, bound once
    read: list[int] = []
    groups: dict[str, _Batch] = defaultdict(_Batch)
    skips: dict[str, list[int]] = defaultdict(list)
    make = OutgoingConversion
    with session_scope() as session:
        conn = session.connection()
        actions = _Actions(conn, integration_id)
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
        _write_skips(conn, skips, run_id, tally)
        session.commit()
    return read, list(groups.values())


def _write_skips(conn: Connection, skips: dict[str, list[int]], run_id: int, tally: _Tally) -> None:
    """Mark rows skipped, one UPDATE per reason (the engine's own rules and the adapter's alike)."""
    ids = _IdList.of(conn)
    for reason, push_ids in skips.items():
        reason = reason[:200]
        for part in _chunks(push_ids, ID_CHUNK):
            conn.execute(ids.mark_skipped, {**ids.bind(part), "reason": reason, "run": run_id})
        tally.skip(reason, len(push_ids))


def _batch_failed(ids: list[int], exc: ProviderError, run_id: int, tally: _Tally) -> bool:
    """A whole request failed after the adapter's retries. True = stop the run (provider trouble)."""
    transient = isinstance(exc, (TransientError, RateLimited))
    message = connections.describe_error(exc)
    now = utcnow()
    retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
    with session_scope() as session:
        rows = session.exec(select(ConversionPush).where(ConversionPush.id.in_(ids))).all()  # type: ignore[attr-defined]
        for row in rows:
            row.attempts += 1
            row.status = "failed"
            row.run_id = run_id
            row.provider_error = message
            row.next_attempt_at = now + backoff(row.attempts, retry_after) if transient else None
            session.add(row)
        session.commit()
    tally.fail(message, len(ids))
    tally.errors.append(message)
    return transient


# Per-row writes of failed and requeued rows (executemany: one statement, one parameter set per row; sent
# and skipped rows are written per id list: _IdList.mark_sent / mark_skipped).
_SET_REQUEUED = (
    update(ConversionPush.__table__)
    .where(_cp.id == bindparam("pid"))
    .values(
        status="pending",
        next_attempt_at=_AT,
        run_id=bindparam("run"),
        provider_error=bindparam("error"),
        provider_response=bindparam("response"),
    )
)
_SET_FAILED = (
    update(ConversionPush.__table__)
    .where(_cp.id == bindparam("pid"))
    .values(
        status="failed",
        attempts=bindparam("tries"),
        next_attempt_at=_AT,
        run_id=bindparam("run"),
        provider_error=bindparam("error"),
        provider_response=bindparam("response"),
    )
)


def _record(
    integration_id: int, batch: _Batch, results: list[PushResult], run_id: int, tally: _Tally, requeued: set[int]
) -> None:
    """Store each event's outcome (results[i] is batch.ids[i]'s); collateral rejections go back to
    pending for an immediate resend.

    Sent rows: one PushRequest (answer, request id, verdict check time) per distinct sent result and
    one UPDATE over the id list pointing the rows to it. Skipped rows: one UPDATE per reason. Failed and
    requeued rows: one executemany each. Core statements throughout: nothing is loaded into the session.

    A result list of the wrong length (an adapter bug) could pair results with the wrong rows, so none
    of it is trusted: every row is a transient failure and is sent again later (same dedup key).
    """
    now = utcnow()
    if len(results) != len(batch.ids):
        log.error(
            "the adapter answered %d results for %d events; treating the batch as unanswered",
            len(results),
            len(batch.ids),
        )
        results = [NO_RESULT] * len(batch.ids)
    sent: dict[PushResult, list[int]] = {}  # events of one accepted request share one result
    skips: dict[str, list[int]] = defaultdict(list)
    others: list[tuple[int, PushResult]] = []
    current, request_rows = None, []
    for pid, result in zip(batch.ids, results, strict=False):
        if result.status == "skipped":
            skips[result.error or "skipped"].append(pid)
            continue
        if result.status != "sent":
            others.append((pid, result))
            continue
        if result is not current:  # a new request's result: hashed once, not once per event
            current, request_rows = result, sent.setdefault(result, [])
        request_rows.append(pid)
    with session_scope() as session:
        conn = session.connection()
        ids = _IdList.of(conn)
        for result, pids in sent.items():
            request_pk = conn.execute(
                insert(PushRequest.__table__).values(
                    integration_id=integration_id,
                    run_id=run_id,
                    request_id=result.request_id,
                    response=result.response,
                    sent_at=now,
                    next_check_at=now + VERDICT_FIRST if result.request_id else None,
                )
            ).inserted_primary_key[0]
            for part in _chunks(pids, ID_CHUNK):
                conn.execute(ids.mark_sent, {**ids.bind(part), "at": now, "request": request_pk, "run": run_id})
            tally.sent += len(pids)
        _write_skips(conn, skips, run_id, tally)
        if others:
            attempts: dict[int, int] = {}
            for part in _chunks([pid for pid, _ in others], ID_CHUNK):
                attempts.update(conn.execute(ids.attempts, ids.bind(part)).all())
            writes: dict[Any, list[dict[str, Any]]] = defaultdict(list)
            for pid, result in others:
                if pid in attempts:
                    statement, params = _outcome(pid, attempts[pid], result, now, tally, requeued)
                    writes[statement].append({**params, "run": run_id})
            for statement, params in writes.items():
                conn.execute(statement, params)
        session.commit()


NO_RESULT = PushResult("failed", error="The provider returned no result for this event.", retryable=True)


def _outcome(
    pid: int, attempts: int, result: PushResult, now: dt.datetime, tally: _Tally, requeued: set[int]
) -> tuple[Any, dict[str, Any]]:
    """The write for one row whose event failed: (statement, its parameters)."""
    collateral = result.collateral
    if collateral and pid not in requeued:
        requeued.add(pid)  # resent in this run, without the bad event
        return _SET_REQUEUED, {"pid": pid, "at": now, "error": result.error, "response": result.response}
    attempts += 1
    tally.fail(result.error)
    at = now + backoff(attempts) if (result.retryable or collateral) else None
    return _SET_FAILED, {"pid": pid, "tries": attempts, "at": at, "error": result.error, "response": result.response}


# ---------------------------------------------------------------- verdicts (Google Data Manager)


async def poll_verdicts(hub: ProviderHub, integration_id: int, every: dt.timedelta = VERDICT_EVERY) -> int:
    """Ask Google for the verdicts of sent requests that are due a check; returns requests settled."""
    now = utcnow()
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None or integration.status not in (*RUNNABLE, IntegrationStatus.PAUSED):
            return 0
        provider_key = integration.provider
        due = session.exec(
            select(PushRequest.id, PushRequest.request_id, PushRequest.sent_at).where(
                PushRequest.integration_id == integration_id,
                PushRequest.next_check_at <= now,  # type: ignore[operator]
                PushRequest.request_id.is_not(None),
            )
        ).all()  # type: ignore[union-attr]
    if not due or not registry.get(provider_key).can(Capability.VERDICTS):
        return 0
    settled = 0
    try:
        async with connections.provider_session(hub, integration_id) as (provider, creds, _):
            source = ability(provider, VerdictSource)
            for request_pk, request_id, sent_at in due:
                try:
                    verdict = await source.check_verdict(creds, request_id)
                except AuthExpired:
                    raise  # the door marks the integration
                except ProviderError as exc:
                    log.warning("verdict check %s failed: %s", request_id, exc.message)
                    continue
                if not verdict.done:
                    if now - sent_at > VERDICT_MAX:
                        _set_verdict(request_pk, "unknown", "Verdict: none after 24 hours.", None)
                        settled += 1
                    else:
                        _set_verdict(request_pk, "processing", None, now + every)
                    continue
                short, full = source.describe_verdict(verdict)
                _set_verdict(request_pk, short, full, None)
                settled += 1
    except (AuthExpired, connections.ConnectionProblem):
        return settled
    return settled


def _set_verdict(request_pk: int, short: str, full: str | None, next_check: dt.datetime | None) -> None:
    """One write per request, whatever the number of events it carried."""
    with session_scope() as session:
        values: dict[str, Any] = {"verdict": short, "next_check_at": next_check}
        if full:
            values["verdict_detail"] = full
        session.exec(update(PushRequest).where(PushRequest.id == request_pk).values(**values))  # type: ignore[arg-type]
        session.commit()


# ---------------------------------------------------------------- catch-up and the scheduler hook


def catch_up(session: Session | None = None) -> int:
    """Queue conversions received within the longest push window that lack their outbox rows
    (arrived while the app was down, or before their mapping existed). Idempotent."""
    since = utcnow() - registry.longest_push_window()
    if session is not None:
        return outbox.enqueue_missing(session, since=since)
    with session_scope() as own:
        added = outbox.enqueue_missing(own, since=since)
        own.commit()
        return added


def integrations_with_due_rows() -> list[int]:
    with session_scope() as session:
        ids = session.exec(
            select(Integration.id).where(
                Integration.status.in_(list(RUNNABLE)),  # type: ignore[attr-defined]
                Integration.direction.in_(list(PUSH_DIRECTIONS)),
            )
        ).all()  # type: ignore[attr-defined]
    return [int(i) for i in ids if has_due(int(i))]


def integrations_awaiting_verdicts() -> list[int]:
    """Integrations with a sent request whose verdict check is due."""
    with session_scope() as session:
        return [
            int(i)
            for i in session.exec(
                select(PushRequest.integration_id)
                .distinct()
                .join(Integration, Integration.id == PushRequest.integration_id)
                .where(
                    PushRequest.next_check_at <= utcnow(),  # type: ignore[operator]
                    Integration.status.in_([*RUNNABLE, IntegrationStatus.PAUSED]),
                )
            )
        ]  # type: ignore[attr-defined]


async def push_due_all(hub: ProviderHub) -> dict[int, PushSummary]:
    """The every-minute job: catch up the queue, push every integration with due rows, poll verdicts."""
    catch_up()
    done: dict[int, PushSummary] = {}
    for integration_id in integrations_with_due_rows():
        try:
            done[integration_id] = await run_push(hub, integration_id, "schedule")
        except runs.AlreadyRunning:
            log.info("push of integration %s is already running", integration_id)
        except Exception:
            log.exception("push of integration %s failed", integration_id)
    for integration_id in integrations_awaiting_verdicts():
        try:
            await poll_verdicts(hub, integration_id)
        except Exception:
            log.exception("verdict polling of integration %s failed", integration_id)
    return done


# ---------------------------------------------------------------- test push, retry, history


class _Recorder(httpx.AsyncBaseTransport):
    """Passes requests to the hub's client and keeps a copy: the test push shows the exact wire payload."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        answer = await self.http.send(request)
        headers = [
            (k, v)
            for k, v in answer.headers.items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        copy = httpx.Response(answer.status_code, headers=headers, content=answer.content)
        self.exchanges.append((request, copy))
        return copy


async def test_push(hub: ProviderHub, integration_id: int, mapping_id: int, conversion_id: int) -> TestPushResult:
    """Validate one conversion with the provider without recording it (Google validateOnly, Meta
    test_event_code, GA4 /debug/mp/collect); returns the exact payload sent and the answer."""
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        mapping = session.get(ConversionMapping, mapping_id)
        conv = session.get(Conversion, conversion_id)
        if integration is None or mapping is None or mapping.integration_id != integration_id:
            raise PushProblem("This mapping no longer exists.")
        if conv is None or conv.traffic_source_id != integration.traffic_source_id:
            raise PushProblem("This conversion does not exist for this traffic source.")
        provider_key, account = integration.provider, connections.account_of(integration)
        event = outgoing(conv, mapping)
        notes = [n for n in (too_old(provider_key, conv, utcnow()), missing_identifier(provider_key, event)) if n]
    recorder = _Recorder(hub.http)
    paths = registry.get(provider_key).push_paths
    async with httpx.AsyncClient(transport=recorder, timeout=hub.http.timeout) as client:
        try:
            async with connections.provider_session(hub, integration_id, http=client) as (provider, creds, _):
                sink = ability(provider, ConversionSink)
                results = await sink.push_conversions(creds, account, [event], validate_only=True)
        except AuthExpired as exc:
            return TestPushResult(_payloads(recorder, paths), f"Authorisation refused: {exc.message}", False)
        except ProviderError as exc:
            return TestPushResult(
                _payloads(recorder, paths), f"{connections.describe_error(exc)}\n{_answers(recorder, paths)}", False
            )
    result = results[0] if results else PushResult("failed", error="no result")
    lines = [f"Result: {result.status}" + (f" - {result.error}" if result.error else "")]
    if result.response:
        lines.append(f"Provider response: {result.response}")
    if notes:
        lines.append("Note: a real push would skip this conversion: " + "; ".join(notes))
    answers = _answers(recorder, paths)
    if answers:
        lines.append(answers)
    return TestPushResult(_payloads(recorder, paths), "\n".join(lines), result.status == "sent" and not notes)


def _push_exchanges(recorder: _Recorder, paths: tuple[str, ...] | None) -> list[tuple[httpx.Request, httpx.Response]]:
    """The requests that carried conversions (`paths`: the provider's; None: every request)."""
    return [
        (q, a) for q, a in recorder.exchanges if q.method == "POST" and (paths is None or q.url.path.endswith(paths))
    ]


def _payloads(recorder: _Recorder, paths: tuple[str, ...] | None) -> str:
    parts = []
    for request, _ in _push_exchanges(recorder, paths):
        try:
            body: Any = json.loads(request.content or b"null")
        except ValueError:
            body = request.content.decode("utf-8", "replace")
        parts.append({"method": request.method, "url": str(request.url.copy_with(query=None)), "body": body})
    return json.dumps(parts[0] if len(parts) == 1 else parts, indent=2)


def _answers(recorder: _Recorder, paths: tuple[str, ...] | None) -> str:
    return "\n".join(
        f"HTTP {a.status_code}: {a.text[:2000] or '(empty body)'}" for _, a in _push_exchanges(recorder, paths)
    )


def retry_row(session: Session, push_id: int) -> ConversionPush:
    """The user's Retry on a failed row: back to pending now (the next run, within a minute, sends it)."""
    row = session.get(ConversionPush, push_id)
    if row is None:
        raise PushProblem("This push record no longer exists.")
    if row.status != "failed":
        raise PushProblem(f"Only failed pushes can be retried (this one is {row.status}).")
    row.status, row.next_attempt_at = "pending", utcnow()
    session.add(row)
    session.commit()
    return row


@dataclass(frozen=True)
class PushRow:
    """A Push History row."""

    id: int
    time: str
    conversion_id: int
    external_id: str
    event_type: str
    action: str
    status: str
    attempts: int
    detail: str  # provider response, error or skip reason
    verdict: str
    next_attempt: str


def _sent_detail(push: ConversionPush, request: PushRequest | None) -> str:
    """A sent row's text: its request's answer (and verdict), else what the row itself holds."""
    if request is None:
        return push.provider_response or push.provider_error or ""
    return " | ".join(part for part in (request.response, request.verdict_detail) if part)


def push_history(
    session: Session,
    integration_id: int,
    status_filter: str | None = None,
    page: int = 1,
    page_size: int = 50,
    reason: str | None = None,
) -> tuple[list[PushRow], int]:
    """Newest first, paginated in SQL; `status_filter` is one of pending|sent|failed|skipped or None;
    `reason` keeps the rows whose last provider error is exactly that (push_retry.failure_reasons)."""
    page, page_size = max(1, page), max(1, min(page_size, 500))
    where = [ConversionPush.integration_id == integration_id]
    if status_filter and status_filter != "all":
        where.append(ConversionPush.status == status_filter)
    if reason:
        where.append(ConversionPush.provider_error == reason)
    total = int(session.exec(select(func.count()).select_from(ConversionPush).where(*where)).one())
    rows = session.exec(
        select(ConversionPush, Conversion, ConversionMapping, PushRequest)
        .join(Conversion, Conversion.id == ConversionPush.conversion_id)
        .join(ConversionMapping, ConversionMapping.id == ConversionPush.mapping_id)
        .outerjoin(PushRequest, PushRequest.id == ConversionPush.push_request_id)
        .where(*where)
        .order_by(func.coalesce(ConversionPush.sent_at, ConversionPush.created_at).desc(), ConversionPush.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    out = []
    for push, conv, mapping, request in rows:
        when = push.sent_at or push.created_at
        detail = (
            push.provider_error
            if push.status == "failed"
            else push.skip_reason
            if push.status == "skipped"
            else _sent_detail(push, request)
        )
        extra = json.loads(mapping.extra_json or "{}")
        action = mapping.action_name or mapping.action_id
        if extra.get("event_name"):
            action = f"{extra['event_name']} on {action}"
        out.append(
            PushRow(
                id=int(push.id),
                time=when.strftime("%Y-%m-%d %H:%M:%S UTC"),
                conversion_id=int(conv.id),
                external_id=conv.external_id,
                event_type=conv.event_type,
                action=action,
                status=push.status,
                attempts=push.attempts,
                detail=detail or "",
                verdict=(request.verdict if request else None) or "",
                next_attempt=push.next_attempt_at.strftime("%Y-%m-%d %H:%M UTC")
                if push.next_attempt_at and push.status in ("pending", "failed")
                else "",
            )
        )
    return out, total
