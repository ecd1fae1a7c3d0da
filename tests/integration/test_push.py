"""Conversions out: the outbox push engine (services/push/) against the sandbox in-process.

Helpers at the top are shared with test_push_*.py and test_mappings.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import update
from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import (
    AuditEvent,
    Conversion,
    ConversionMapping,
    ConversionPush,
    Integration,
    IntegrationStatus,
    Lease,
    PushRequest,
    SyncRun,
)
from routy_app.providers.values import ConversionAction, OutgoingConversion
from routy_app.services import conversions, integrations, leases, mappings, push
from routy_app.services.audit import Actor
from routy_app.services.hub import ProviderHub
from routy_app.services.push import engine as push_engine
from routy_app.services.push import outbox, outcomes
from routy_app.services.push.outcomes import Batch
from routy_app.services.push.tally import Tally
from routy_app.services.runs import RunRefused
from routy_app.timeutil import utcnow
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture

# ---------------------------------------------------------------- helpers


async def mapped(hub: ProviderHub, provider: str = "google_ads", event_type: str = "sale") -> tuple[int, int]:
    """(integration id, mapping id): connected through the sandbox, `event_type` mapped to a live action."""
    integration_id = await connected_integration(hub, provider)
    actions = await mappings.available_actions(hub, integration_id)
    extra = {"event_name": "Purchase"} if provider == "meta_ads" else {}
    action = next(a for a in actions if a.id == "purchase") if provider == "ga4" else actions[0]
    view = mappings.add_mapping(integration_id, event_type, action.id, action.name, extra)
    return integration_id, view.id


def ingest(
    n: int, start: int = 0, age: dt.timedelta = dt.timedelta(hours=1), event_type: str = "sale", **fields
) -> list[int]:
    """Store `n` conversions through the real ingest path; "{i}" in a field value is the event number."""
    when = (utcnow() - age).isoformat()
    events = [
        {
            "id": f"ord-{i}",
            "event_type": event_type,
            "occurred_at": when,
            "value": "10.50",
            "currency": "USD",
            **{k: (v.format(i=i) if isinstance(v, str) else v) for k, v in fields.items()},
        }
        for i in range(start, start + n)
    ]
    ids: list[int] = []
    with session_scope() as session:
        for offset in range(0, len(events), 1000):
            ids += [e.conversion_id for e in conversions.ingest_events(session, 1, events[offset : offset + 1000])]
    return ids


def pushes(integration_id: int) -> list[ConversionPush]:
    with session_scope() as session:
        return list(
            session.exec(
                select(ConversionPush)
                .where(ConversionPush.integration_id == integration_id)
                .order_by(ConversionPush.id)
            ).all()
        )


def statuses(integration_id: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in pushes(integration_id):
        out[row.status] = out.get(row.status, 0) + 1
    return out


def request_of(row: ConversionPush) -> PushRequest | None:
    """The provider request that sent the row (its answer and verdict)."""
    with session_scope() as session:
        return session.get(PushRequest, row.push_request_id) if row.push_request_id else None


def verdicts(integration_id: int) -> list[str | None]:
    """Each row's verdict (that of the request that sent it), in row order."""
    return [(request.verdict if (request := request_of(row)) else None) for row in pushes(integration_id)]


def make_due(integration_id: int) -> None:
    """Let time pass: every backoff / verdict wait of this integration is over."""
    past = utcnow() - dt.timedelta(seconds=1)
    with session_scope() as session:
        session.exec(
            update(ConversionPush)
            .where(ConversionPush.integration_id == integration_id, ConversionPush.next_attempt_at.is_not(None))
            .values(next_attempt_at=past)
        )
        session.exec(
            update(PushRequest)
            .where(PushRequest.integration_id == integration_id, PushRequest.next_check_at.is_not(None))
            .values(next_check_at=past)
        )
        session.commit()


# ---------------------------------------------------------------- the happy path


async def test_google_push_sends_each_event_once_with_the_dedup_key_and_records_a_run(hub, sandbox_state):
    integration_id, _ = await mapped(hub)
    ingest(3, gclid="Cj0KCQ-{i}")
    summary = await push.run_push(hub, integration_id, "manual")
    assert (summary.read, summary.sent, summary.failed, summary.status) == (3, 3, 0, "success")
    received = sandbox_state.received["google_ads"]
    assert sorted(r["transactionId"] for r in received) == ["1:ord-0", "1:ord-1", "1:ord-2"]
    assert {r["conversionValue"] for r in received} == {10.5} and {r["currency"] for r in received} == {"USD"}
    rows = pushes(integration_id)
    assert {r.status for r in rows} == {"sent"} and all(r.sent_at and r.next_attempt_at is None for r in rows)
    requests = {r.push_request_id for r in rows}
    assert len(requests) == 1 and request_of(rows[0]).request_id  # one Data Manager request, its id kept once
    with session_scope() as session:
        run = session.get(SyncRun, summary.run_id)
    assert (run.kind, run.trigger, run.status, run.records_read, run.records_inserted) == (
        "push",
        "manual",
        "success",
        3,
        3,
    )
    again = await push.run_push(hub, integration_id, "schedule")
    assert again.run_id is None and len(sandbox_state.received["google_ads"]) == 3  # nothing due: no run, no send


async def test_unmapped_types_are_not_queued_and_disabled_mappings_are_skipped(hub, sandbox_state):
    integration_id, mapping_id = await mapped(hub)
    ingest(2, event_type="lead", gclid="g{i}")
    assert pushes(integration_id) == []
    ingest(2, start=10, gclid="g{i}")
    mappings.set_enabled(mapping_id, False)
    ingest(1, start=20, gclid="g{i}")  # arrives while disabled: not queued at all
    summary = await push.run_push(hub, integration_id, "manual")
    assert summary.sent == 0 and summary.skipped == 2 and sandbox_state.received["google_ads"] == []
    assert {r.skip_reason for r in pushes(integration_id)} == {"mapping disabled"}
    mappings.set_enabled(mapping_id, True)  # recent ones queue again
    assert (await push.run_push(hub, integration_id)).sent == 3


# ---------------------------------------------------------------- batching


async def test_2500_google_events_go_in_two_ingest_requests(hub, sandbox_state):
    integration_id, _ = await mapped(hub)
    ingest(2500, gclid="Cj0-{i}")
    summary = await push.run_push(hub, integration_id)
    received = sandbox_state.received["google_ads"]
    assert summary.sent == 2500 and len(received) == 2500
    sizes = sorted(sum(1 for r in received if r["requestId"] == rid) for rid in {r["requestId"] for r in received})
    assert sizes == [500, 2000]


async def test_30_ga4_events_go_in_two_measurement_protocol_requests(hub, sandbox_state, sandbox_http):
    integration_id, _ = await mapped(hub, "ga4")
    collects: list[str] = []

    async def count(request):
        if request.url.path.endswith("/mp/collect") and "/debug/" not in request.url.path:
            collects.append(request.url.path)

    sandbox_http.event_hooks["request"].append(count)
    ingest(30, ga_client_id="1000.2000")
    summary = await push.run_push(hub, integration_id)
    assert summary.sent == 30 and len(collects) == 2
    assert sorted(r["transaction_id"] for r in sandbox_state.received["ga4"]) == sorted(f"1:ord-{i}" for i in range(30))


# ---------------------------------------------------------------- skips


async def test_each_skip_reason_is_recorded(hub, sandbox_state):
    google, _ = await mapped(hub, "google_ads")
    ingest(1, start=0)  # no click id, no email/phone
    ingest(1, start=1, age=dt.timedelta(days=91), gclid="old")
    ingest(1, start=2, email="buyer@example.com")  # a hashed email is enough for Google
    summary = await push.run_push(hub, google)
    assert (summary.sent, summary.skipped) == (1, 2)
    reasons = {r.skip_reason for r in pushes(google) if r.status == "skipped"}
    assert any("no click id" in r for r in reasons) and any("90 days" in r for r in reasons)
    assert "skipped" in summary.message


async def test_meta_and_ga4_skip_rules(hub, sandbox_state):
    meta, _ = await mapped(hub, "meta_ads")
    ga4, _ = await mapped(hub, "ga4")
    ingest(1, start=0, fbc="fb.1.1554763741205.x{i}", ga_client_id="1.2")
    ingest(1, start=1, age=dt.timedelta(days=8), fbc="fb.1.1554763741205.x{i}", ga_client_id="1.2")
    ingest(1, start=2, ip="203.0.113.7", user_agent="Mozilla/5.0")  # Meta can match IP + UA; GA4 cannot
    ingest(1, start=3, gclid="only-google")
    meta_summary = await push.run_push(hub, meta)
    ga4_summary = await push.run_push(hub, ga4)
    assert (meta_summary.sent, meta_summary.skipped) == (2, 2)
    assert (ga4_summary.sent, ga4_summary.skipped) == (1, 3)
    meta_reasons = {r.skip_reason for r in pushes(meta) if r.skip_reason}
    ga4_reasons = {r.skip_reason for r in pushes(ga4) if r.skip_reason}
    assert any("7 days" in r for r in meta_reasons) and any("Meta cannot match" in r for r in meta_reasons)
    assert any("72 hours" in r for r in ga4_reasons) and any("ga_client_id" in r for r in ga4_reasons)
    assert {e["event_id"] for e in sandbox_state.received["meta_ads"]} == {"1:ord-0", "1:ord-2"}


# ---------------------------------------------------------------- failures


async def test_one_bad_google_event_fails_alone_and_the_rest_are_resent_in_the_same_run(hub, sandbox_state):
    integration_id, _mapping_id = await mapped(hub)
    ingest(3, gclid="Cj0-{i}")
    with session_scope() as session:  # a row stored by an older version with a broken hash
        bad = Conversion(
            traffic_source_id=1,
            external_id="legacy",
            event_type="sale",
            occurred_at=utcnow(),
            email_sha256="not-a-sha256",
        )
        session.add(bad)
        session.flush()
        outbox.enqueue_for_conversions(session, [bad.id])
        session.commit()
    summary = await push.run_push(hub, integration_id)
    assert (summary.sent, summary.failed, summary.status) == (3, 1, "partial")
    failed = [r for r in pushes(integration_id) if r.status == "failed"]
    assert len(failed) == 1 and failed[0].conversion_id == bad.id
    assert "INVALID_HEX_ENCODING" in failed[0].provider_error and failed[0].next_attempt_at is None  # permanent
    assert all(r.attempts == 1 for r in pushes(integration_id))  # collateral rejections cost no attempt
    assert len(sandbox_state.received["google_ads"]) == 3


async def test_ga4_validation_failure_is_recorded_per_event_and_retry_resends_it(hub, sandbox_state):
    integration_id, _ = await mapped(hub, "ga4")
    ingest(3, ga_client_id="100.{i}")  # one Measurement Protocol request per client id
    sandbox_state.faults.add(
        "ga4.debug_collect",
        "validation_messages",
        messages=[
            {
                "fieldPath": "events",
                "description": "Event at index: [0] has parameter [value] that is invalid.",
                "validationCode": "VALUE_INVALID",
            }
        ],
    )
    summary = await push.run_push(hub, integration_id)
    assert (summary.sent, summary.failed) == (2, 1)
    failed = next(r for r in pushes(integration_id) if r.status == "failed")
    assert "parameter [value]" in failed.provider_error and failed.next_attempt_at is None
    push.retry_row(failed.id, actor=Actor(email="ana@example.com", user_id=None))
    with session_scope() as session:
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "pushes_retried")).one()
    assert (audit.user_email, audit.integration_id) == ("ana@example.com", integration_id)
    assert (await push.run_push(hub, integration_id)).sent == 1
    assert statuses(integration_id) == {"sent": 3} and len(sandbox_state.received["ga4"]) == 3


async def test_transient_failure_backs_off_then_is_sent(hub, sandbox_state):
    integration_id, _ = await mapped(hub)
    ingest(2, gclid="Cj0-{i}")
    sandbox_state.faults.add("datamanager.ingest", "http_500", times=4)  # outlasts the adapter's own retries
    first = await push.run_push(hub, integration_id)
    assert (first.sent, first.failed, first.status) == (0, 2, "failed")
    rows = pushes(integration_id)
    assert all(r.status == "failed" and r.attempts == 1 and "Internal error" in r.provider_error for r in rows)
    wait = rows[0].next_attempt_at - utcnow()
    assert dt.timedelta(seconds=40) < wait < dt.timedelta(seconds=80)  # 1 min +- jitter
    assert (await push.run_push(hub, integration_id)).run_id is None  # not due yet
    make_due(integration_id)
    second = await push.run_push(hub, integration_id)
    assert second.sent == 2 and all(r.attempts == 2 for r in pushes(integration_id))
    with session_scope() as session:
        assert session.get(Integration, integration_id).consecutive_failures == 0


async def test_backoff_grows_and_is_capped():
    delays = [push.backoff(n).total_seconds() for n in (1, 2, 3, 20)]
    assert 48 <= delays[0] <= 72 and 96 <= delays[1] <= 144 and 192 <= delays[2] <= 288
    assert delays[3] <= 6 * 3600 and push.backoff(1, retry_after=600).total_seconds() >= 600


async def test_auth_failure_keeps_the_queue_intact(hub, sandbox_state):
    integration_id, _ = await mapped(hub)
    ingest(3, gclid="Cj0-{i}")
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        creds = integrations.load_credentials(integration)
    sandbox_state.tokens.revoke(creds.refresh_token)  # the user removed Routy's access at Google
    summary = await push.run_push(hub, integration_id)
    assert summary.status == "failed" and summary.sent == 0 and "Authorisation refused" in summary.message
    assert all(r.status == "pending" and r.attempts == 0 for r in pushes(integration_id))
    with session_scope() as session:
        assert session.get(Integration, integration_id).status == IntegrationStatus.RECONNECT_REQUIRED
    with pytest.raises(RunRefused, match="Reconnect"):  # refused before any run row
        await push.run_push(hub, integration_id)
    assert sandbox_state.received["google_ads"] == []


async def test_paused_integration_keeps_its_queue_and_resume_flushes_it(hub, sandbox_state):
    integration_id, _ = await mapped(hub, "meta_ads")
    integrations.set_paused(integration_id, True)
    ingest(4, fbp="fb.1.1558571054389.{i}")
    with pytest.raises(RunRefused, match="Paused"):
        await push.run_push(hub, integration_id)
    assert (await push.push_due_all(hub)) == {}
    assert sandbox_state.received["meta_ads"] == [] and statuses(integration_id) == {"pending": 4}
    integrations.set_paused(integration_id, False)
    done = await push.push_due_all(hub)
    assert done[integration_id].sent == 4 and statuses(integration_id) == {"sent": 4}


async def test_disconnect_after_pushes_removes_the_outbox_and_its_requests(hub, sandbox_state):
    integration_id, _ = await mapped(hub)
    ingest(3, gclid="Cj0-{i}")
    assert (await push.run_push(hub, integration_id)).sent == 3
    assert "disconnected" in await integrations.disconnect(hub, integration_id)
    with session_scope() as session:
        assert session.exec(select(ConversionPush).where(ConversionPush.integration_id == integration_id)).all() == []
        assert session.exec(select(PushRequest).where(PushRequest.integration_id == integration_id)).all() == []
        assert session.get(Integration, integration_id) is None


# ---------------------------------------------------------------- crash safety


async def test_rows_of_a_run_that_died_stay_due_and_are_sent_once_when_its_lock_expires(hub, sandbox_state):
    integration_id, _ = await mapped(hub)
    ingest(5, gclid="Cj0-{i}")
    lock = leases.run_lock_name(integration_id, scope="push")
    assert leases.try_acquire_lease(lock, "a-process-that-died", leases.lease_ttl())  # ... and never released it
    with pytest.raises(leases.AlreadyRunning):
        await push.run_push(hub, integration_id)
    assert (await push.push_due_all(hub)) == {}  # the scheduler skips it too
    assert statuses(integration_id) == {"pending": 5} and sandbox_state.received["google_ads"] == []
    with session_scope() as session:  # time passes: the dead run's lock expires
        session.exec(update(Lease).where(Lease.name == lock).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        session.commit()
    summary = await push.run_push(hub, integration_id)
    assert summary.sent == 5 and statuses(integration_id) == {"sent": 5}
    keys = [r["transactionId"] for r in sandbox_state.received["google_ads"]]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 5


async def test_crash_after_sending_before_recording_is_deduplicated_by_the_provider(hub, sandbox_state):
    integration_id, _ = await mapped(hub, "meta_ads")
    ingest(3, fbc="fb.1.1554763741205.c{i}")
    claimed = [row.id for row in pushes(integration_id)]
    # a run got as far as the provider call, then died before writing the outcome
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        rows = session.exec(
            select(ConversionPush, Conversion, ConversionMapping)
            .join(Conversion, Conversion.id == ConversionPush.conversion_id)
            .join(ConversionMapping, ConversionMapping.id == ConversionPush.mapping_id)
            .where(ConversionPush.id.in_(claimed))
        ).all()
        batch = [push.outgoing(conv, mapping) for _, conv, mapping in rows]
        account = integrations.account_of(integration)
    async with integrations.provider_session(hub, integration_id) as (provider, creds, _):
        await provider.push_conversions(creds, account, batch)
    make_due(integration_id)
    summary = await push.run_push(hub, integration_id)
    assert summary.sent == 3 and statuses(integration_id) == {"sent": 3}
    received = sandbox_state.received["meta_ads"]
    assert len(received) == 6  # at-least-once: each event twice on the wire ...
    originals = [r["event_id"] for r in received if not r["duplicate"]]
    assert sorted(originals) == ["1:ord-0", "1:ord-1", "1:ord-2"]  # ... but counted once by Meta


# ---------------------------------------------------------------- catch-up, history, test push


async def test_catch_up_queues_conversions_that_arrived_while_push_was_off(hub, sandbox_state):
    integration_id, _ = await mapped(hub)
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        integration.direction = "pull"
        session.add(integration)
        session.commit()
    ingest(2, gclid="Cj0-{i}")
    assert pushes(integration_id) == []
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        integration.direction = "bidirectional"
        session.add(integration)
        session.commit()
    done = await push.push_due_all(hub)  # catch_up first, then push
    assert done[integration_id].sent == 2 and push.catch_up() == 0


async def test_push_history_lists_outcomes_with_filters(hub, sandbox_state):
    integration_id, _ = await mapped(hub)
    ingest(2, gclid="Cj0-{i}")
    ingest(1, start=5)
    await push.run_push(hub, integration_id)
    with session_scope() as session:
        rows, total = push.push_history(session, integration_id, None, 1, 10)
        skipped, n_skipped = push.push_history(session, integration_id, "skipped", 1, 10)
        page2, _ = push.push_history(session, integration_id, None, 2, 2)
    assert total == 3 and n_skipped == 1 and len(page2) == 1
    assert skipped[0].external_id == "ord-5" and "no click id" in skipped[0].detail
    sent = next(r for r in rows if r.status == "sent")
    assert sent.event_type == "sale" and sent.attempts == 1 and "requestId" in sent.detail and sent.action


async def test_test_push_shows_the_exact_payload_and_stores_nothing(hub, sandbox_state):
    google, google_mapping = await mapped(hub, "google_ads")
    meta, meta_mapping = await mapped(hub, "meta_ads")
    ga4, ga4_mapping = await mapped(hub, "ga4")
    [conv_id] = ingest(1, gclid="Cj0-test", fbc="fb.1.1554763741205.t", ga_client_id="1.2")
    result = await push.validate_push(hub, google, google_mapping, conv_id)
    body = json.loads(result.payload_json)["body"]
    assert result.ok and body["validateOnly"] is True and body["events"][0]["transactionId"] == "1:ord-0"
    assert "validated only" in result.answer_text and sandbox_state.received["google_ads"] == []
    meta_result = await push.validate_push(hub, meta, meta_mapping, conv_id)
    meta_body = json.loads(meta_result.payload_json)["body"]
    assert meta_result.ok and meta_body["test_event_code"] and meta_body["data"][0]["event_id"] == "1:ord-0"
    ga4_result = await push.validate_push(hub, ga4, ga4_mapping, conv_id)
    ga4_payload = json.loads(ga4_result.payload_json)
    assert ga4_result.ok and ga4_payload["url"].endswith("/debug/mp/collect") and "api_secret" not in ga4_payload["url"]
    assert sandbox_state.received["ga4"] == []
    assert all(r.status == "pending" for r in pushes(google))  # the real queue is untouched


async def test_a_second_push_of_the_same_integration_is_refused_while_one_runs(hub, sandbox_state):
    integration_id, _ = await mapped(hub)
    ingest(1, gclid="Cj0-x")
    with leases.held_without_heartbeat(integration_id, scope="push"), pytest.raises(leases.AlreadyRunning):
        await push.run_push(hub, integration_id, "manual")
    assert statuses(integration_id) == {"pending": 1}
    assert (await push.run_push(hub, integration_id, "manual")).sent == 1


async def test_while_a_push_runs_its_rows_are_not_deleted_under_it(hub, sandbox_state):
    """Rows stay pending while a run sends them, so changing the mapping's event type (which drops
    unsent rows) and Disconnect wait for the run to finish."""
    integration_id, mapping_id = await mapped(hub)
    ingest(2, gclid="Cj0-{i}")
    with leases.held_without_heartbeat(integration_id, scope="push"):
        with pytest.raises(mappings.MappingProblem, match="in progress"):
            mappings.update_mapping(mapping_id, event_type="lead")
        with pytest.raises(integrations.ConnectionProblem, match="running"):
            await integrations.disconnect(hub, integration_id)
    assert statuses(integration_id) == {"pending": 2}
    assert "disconnected" in await integrations.disconnect(hub, integration_id)  # once the run is over


async def test_a_run_that_lost_its_lock_stops(hub, sandbox_state):
    integration_id, _ = await mapped(hub)
    ingest(3, gclid="Cj0-{i}")
    with leases.held_without_heartbeat(integration_id, scope="push") as lock:
        lock.renewed -= lock.ttl.total_seconds()  # the last renewal is old: keep() renews before answering
        assert lock.keep()
        with session_scope() as session:  # the lease expired and another process took it
            session.exec(
                update(Lease)
                .where(Lease.name == leases.run_lock_name(integration_id, "push"))
                .values(holder="another-process")
            )
            session.commit()
        lock.renewed -= lock.ttl.total_seconds()
        assert not lock.keep() and lock.lost
        tally = Tally()
        outcome = await push_engine._send_loop(
            hub.provider("google_ads"),
            integration_id,
            "google_ads",
            None,
            None,
            1,
            lock,
            tally,
        )
    assert outcome == "error" and tally.errors == [push.LOCK_LOST] and tally.read == 0
    assert statuses(integration_id) == {"pending": 3} and sandbox_state.received["google_ads"] == []


async def test_every_kind_of_outcome_is_written_per_row(hub, sandbox_state):
    """_record's bulk writes: sent (grouped by request), adapter skip, collateral requeue (once), failures."""
    from routy_app.providers.google_ads.conversions import NOT_PROCESSED
    from routy_app.providers.values import PushResult

    integration_id, _ = await mapped(hub)
    ingest(7, gclid="Cj0-{i}")
    ids = [row.id for row in pushes(integration_id)]
    batch = Batch(
        ids,
        [
            OutgoingConversion(
                key=f"k{n}",
                event_type="sale",
                action=ConversionAction("a", "A"),
                occurred_at=utcnow(),
            )
            for n in range(len(ids))
        ],
    )
    accepted = PushResult("sent", response="ok A", request_id="r1")  # one result shared by a request's events
    results = [
        accepted,
        PushResult("sent", response="ok B", request_id=None),
        PushResult("skipped", error="no match"),
        PushResult("failed", error=NOT_PROCESSED, collateral=True),
        PushResult("failed", error="bad value", response="HTTP 400"),
        PushResult("failed", error="try later", retryable=True),
        accepted,
    ]  # k6: same request as k0
    tally, requeued = Tally(), {ids[4]}
    outcomes.record(integration_id, batch, results, 1, tally, requeued)
    rows = {r.id: r for r in pushes(integration_id)}
    r = [rows[i] for i in ids]
    first, second = request_of(r[0]), request_of(r[1])
    assert (r[0].status, r[0].attempts, r[0].next_attempt_at) == ("sent", 1, None)
    assert (first.request_id, first.response, first.run_id) == ("r1", "ok A", 1)
    assert first.next_check_at is not None  # verdict check due
    assert r[1].status == "sent" and (second.request_id, second.response, second.next_check_at) == (None, "ok B", None)
    assert (r[2].status, r[2].skip_reason, r[2].attempts, r[2].next_attempt_at) == ("skipped", "no match", 0, None)
    assert (r[3].status, r[3].attempts, r[3].provider_error) == ("pending", 0, NOT_PROCESSED)
    assert r[3].next_attempt_at is not None and ids[3] in requeued
    assert (r[4].status, r[4].attempts, r[4].provider_error, r[4].provider_response) == (
        "failed",
        1,
        "bad value",
        "HTTP 400",
    )
    assert r[4].next_attempt_at is None  # permanent: waits for the user's Retry
    assert (r[5].status, r[5].attempts) == ("failed", 1) and r[5].next_attempt_at > utcnow()
    assert r[6].status == "sent" and r[6].push_request_id == r[0].push_request_id  # one PushRequest per request
    assert all(x.run_id == 1 for x in r)
    assert (tally.sent, tally.failed, tally.skipped, dict(tally.skip_reasons)) == (3, 2, 1, {"no match": 1})


@pytest.mark.parametrize("answered", [2, 4], ids=["too few", "too many"])
async def test_a_result_list_of_the_wrong_length_sends_nothing_and_retries_all(hub, sandbox_state, answered):
    """Results are matched by position: a list of the wrong length could pair them with the wrong rows."""
    from routy_app.providers.values import PushResult

    integration_id, _ = await mapped(hub)
    ingest(3, gclid="Cj0-{i}")
    ids = [row.id for row in pushes(integration_id)]
    batch = Batch(
        ids,
        [
            OutgoingConversion(
                key=f"k{n}",
                event_type="sale",
                action=ConversionAction("a", "A"),
                occurred_at=utcnow(),
            )
            for n in range(len(ids))
        ],
    )
    tally = Tally()
    outcomes.record(integration_id, batch, [PushResult("sent", response="ok")] * answered, 1, tally, set())
    rows = pushes(integration_id)
    assert [(r.status, r.attempts) for r in rows] == [("failed", 1)] * 3
    assert all("no result" in r.provider_error and r.next_attempt_at > utcnow() for r in rows)
    assert (tally.sent, tally.failed) == (0, 3)
