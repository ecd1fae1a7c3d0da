"""Conversions out: the outbox push engine (read due rows, batch, send, record per-event outcomes, backoff).

Delivery is at-least-once and never loses a row:
- A run holds the integration's push lock (a Lease row, services/leases.py: renewed in the background and
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
failure and skip reason are in the run's text, `records_updated` stays 0 (services/push/tally.py
decides the run's status and what it means for the integration).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from routy_app.db import session_scope
from routy_app.models import IntegrationStatus
from routy_app.providers import registry
from routy_app.providers.errors import AuthExpired, ProviderError
from routy_app.providers.protocols import ConversionSink, ability
from routy_app.providers.values import Account, Credentials
from routy_app.services import leases, runs
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations.access import ConnectionProblem, provider_session
from routy_app.services.integrations.credentials import account_of, get_integration
from routy_app.services.push import tally as push_tally
from routy_app.services.push.due import PUSH_DIRECTIONS, RUNNABLE, has_due, prepare
from routy_app.services.push.outcomes import batch_failed, record
from routy_app.services.push.tally import Tally
from routy_app.services.wording import sentence
from routy_app.statuses import RunStatus

log = logging.getLogger("routy.push")

CHUNK_ROWS = 10_000  # due rows read at a time; batches are cut from a chunk
MAX_REQUESTS_PER_CHUNK = 20  # small batches (GA4: 25) are read a few hundred at a time, not thousands


@dataclass(frozen=True)
class PushSummary:
    """What one run did; `message` is what the UI shows after Sync Now."""

    integration_id: int
    run_id: int | None
    read: int = 0  # outbox rows read (sent, failed or skipped)
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    status: RunStatus = RunStatus.IDLE  # a run that cannot start raises RunRefused
    message: str = ""


async def run_push(hub: ProviderHub, integration_id: int, trigger: str = "schedule") -> PushSummary:
    """Send every due outbox row of the integration; records a SyncRun when there was work (or manual).

    Raises, before any run row, runs.RunRefused when it cannot push now (paused, reconnect needed, not
    set up, direction pull: its queue is kept) and leases.AlreadyRunning when another push of it runs.
    """
    with session_scope() as session:
        integration = get_integration(session, integration_id)
        status, provider_key, direction = integration.status, integration.provider, integration.direction
        account = account_of(integration)
    if status == IntegrationStatus.PAUSED:
        raise runs.RunRefused("Paused: conversions stay queued.")
    if status == IntegrationStatus.RECONNECT_REQUIRED:
        raise runs.RunRefused("Reconnect to push: conversions stay queued.")
    if status not in RUNNABLE:
        raise runs.RunRefused("Finish connecting first.")
    if direction not in PUSH_DIRECTIONS:
        raise runs.RunRefused("Push is off (direction is pull).")
    if trigger != "manual" and not has_due(integration_id):
        return PushSummary(integration_id, None, message="Nothing to push.")
    async with leases.run_lock(integration_id, scope="push") as lease:
        run_id = runs.open_run(integration_id, "push", trigger, lease.holder)
        tally = Tally()
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


def _close(integration_id: int, run_id: int, tally: Tally, outcome: str) -> PushSummary:
    status, message = push_tally.close(integration_id, run_id, tally, outcome)
    return PushSummary(integration_id, run_id, tally.read, tally.sent, tally.failed, tally.skipped, status, message)


async def _push_all(
    hub: ProviderHub,
    integration_id: int,
    provider_key: str,
    account: Account,
    run_id: int,
    lease: leases.HeldLease,
    tally: Tally,
) -> str:
    """Read-send-record until nothing is due; 'auth' when authorisation was refused."""
    try:
        async with provider_session(hub, integration_id) as (provider, creds, _):
            sink = ability(provider, ConversionSink)
            return await _send_loop(sink, integration_id, provider_key, account, creds, run_id, lease, tally)
    except AuthExpired as exc:  # the door marked the integration; what was not sent stays pending, untouched
        tally.errors.append(auth_refused(exc))
        return "auth"
    except ConnectionProblem as exc:
        tally.errors.append(exc.message)
        return "error"


async def _send_loop(
    provider: ConversionSink,
    integration_id: int,
    provider_key: str,
    account: Account,
    creds: Credentials,
    run_id: int,
    lock: leases.HeldLease,
    tally: Tally,
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
        read, batches = prepare(integration_id, provider_key, chunk, run_id, tally)
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
                    if batch_failed(part.ids, exc, run_id, tally):
                        return "error"  # the provider is down or throttling: the rest waits for the next run
                    continue
                record(integration_id, part, results, run_id, tally, requeued)


LOCK_LOST = "The push lock was taken over by another process; the rest of the queue is left to it."


def auth_refused(exc: AuthExpired) -> str:
    return sentence(f"Authorisation refused: {exc.message}") + " Conversions stay queued; reconnect."
