"""Writing what happened to each pushed event: sent, skipped, failed (retried later or not), collateral.

Every statement is prebuilt SQLAlchemy Core over outbox row ids (nothing is loaded into a session): the
push hot path writes one statement per group of rows that share an outcome, not one per row. Measured
in benchmarks/push_bench.py; see the comments where a shape was chosen for speed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Select, Update, bindparam, func, insert, update
from sqlalchemy.engine import Connection
from sqlmodel import col, select

from routy_app.db import session_scope
from routy_app.models import ConversionPush, PushRequest, UTCDateTime, table_of
from routy_app.providers.errors import ProviderError, RateLimited, TransientError
from routy_app.providers.values import OutgoingConversion, PushResult
from routy_app.services.integrations.health import describe_error
from routy_app.services.push.rules import backoff
from routy_app.services.push.tally import Tally
from routy_app.timeutil import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Row

log = logging.getLogger("routy.push")

VERDICT_FIRST = dt.timedelta(minutes=1)  # Google suggests ~30 min; the sandbox answers at once
ID_CHUNK = 5000  # ids per statement (well under SQLite's and PostgreSQL's bound-parameter limits)
_PUSHES = table_of(ConversionPush)
_REQUESTS = table_of(PushRequest)
_cp = _PUSHES.c
_AT = bindparam("at", type_=UTCDateTime())


@dataclass(frozen=True)
class IdList:
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
    def mark_sent(self) -> Update:  # params: ids, at, request, run
        return (
            update(_PUSHES)
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
    def mark_skipped(self) -> Update:  # params: ids, reason, run
        return (
            update(_PUSHES)
            .where(self.where)
            .values(status="skipped", skip_reason=bindparam("reason"), next_attempt_at=None, run_id=bindparam("run"))
        )

    @functools.cached_property
    def attempts(self) -> Select[Any]:  # params: ids
        return select(_cp.id, _cp.attempts).where(self.where)

    @staticmethod
    def of(conn: Connection) -> IdList:
        return _JSON_IDS if conn.dialect.name == "sqlite" else _LIST_IDS


_JSON_IDS = IdList(_cp.id.in_(select(func.json_each(bindparam("ids_json")).table_valued("value").c.value)), True)
_LIST_IDS = IdList(_cp.id.in_(bindparam("ids", expanding=True)), False)


def chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass
class Batch:
    """Events for one provider action: outbox row ids and the adapter's inputs, index for index
    (two lists rather than a pair per event: one object fewer per event for the cyclic GC)."""

    ids: list[int] = dataclasses.field(default_factory=list)
    convs: list[OutgoingConversion] = dataclasses.field(default_factory=list)

    def parts(self, size: int) -> list[Batch]:
        return [Batch(self.ids[i : i + size], self.convs[i : i + size]) for i in range(0, len(self.ids), size)]


def write_skips(conn: Connection, skips: dict[str, list[int]], run_id: int, tally: Tally) -> None:
    """Mark rows skipped, one UPDATE per reason (the engine's own rules and the adapter's alike)."""
    ids = IdList.of(conn)
    for reason, push_ids in skips.items():
        reason = reason[:200]
        for part in chunks(push_ids, ID_CHUNK):
            conn.execute(ids.mark_skipped, {**ids.bind(part), "reason": reason, "run": run_id})
        tally.skip(reason, len(push_ids))


def batch_failed(ids: list[int], exc: ProviderError, run_id: int, tally: Tally) -> bool:
    """A whole request failed after the adapter's retries. True = stop the run (provider trouble)."""
    transient = isinstance(exc, (TransientError, RateLimited))
    message = describe_error(exc)
    now = utcnow()
    retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
    with session_scope() as session:
        rows = session.exec(select(ConversionPush).where(col(ConversionPush.id).in_(ids))).all()
        for row in rows:
            row.attempts += 1
            row.status = "failed"
            row.run_id = run_id
            row.provider_error = message
            row.provider_response = exc.detail
            row.next_attempt_at = now + backoff(row.attempts, retry_after) if transient else None
            session.add(row)
        session.commit()
    tally.fail(message, len(ids))
    tally.errors.append(message)
    return transient


# Per-row writes of failed and requeued rows (executemany: one statement, one parameter set per row; sent
# and skipped rows are written per id list: IdList.mark_sent / mark_skipped).
_SET_REQUEUED = (
    update(_PUSHES)
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
    update(_PUSHES)
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


def record(
    integration_id: int, batch: Batch, results: list[PushResult], run_id: int, tally: Tally, requeued: set[int]
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
        ids = IdList.of(conn)
        for result, pids in sent.items():
            inserted = conn.execute(
                insert(_REQUESTS).values(
                    integration_id=integration_id,
                    run_id=run_id,
                    request_id=result.request_id,
                    response=result.response,
                    sent_at=now,
                    next_check_at=now + VERDICT_FIRST if result.request_id else None,
                )
            ).inserted_primary_key
            request_pk = cast("Row[Any]", inserted)[0]  # a one-row INSERT always reports its key
            for part in chunks(pids, ID_CHUNK):
                conn.execute(ids.mark_sent, {**ids.bind(part), "at": now, "request": request_pk, "run": run_id})
            tally.sent += len(pids)
        write_skips(conn, skips, run_id, tally)
        if others:
            attempts: dict[int, int] = {}
            for part in chunks([pid for pid, _ in others], ID_CHUNK):
                attempts.update(conn.execute(ids.attempts, ids.bind(part)).all())
            writes: dict[Any, list[dict[str, Any]]] = defaultdict(list)
            for pid, result in others:
                if pid in attempts:
                    statement, params = _outcome(pid, attempts[pid], result, now, tally, requeued)
                    writes[statement].append({**params, "run": run_id})
            for statement, rows in writes.items():
                conn.execute(statement, rows)
        session.commit()


NO_RESULT = PushResult("failed", error="The provider returned no result for this event.", retryable=True)


def _outcome(
    pid: int, attempts: int, result: PushResult, now: dt.datetime, tally: Tally, requeued: set[int]
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
