"""A push run's outcome is the truth (issue 18, item 3): every row failed -> a failure of the integration with
the summarised reason (counting towards Needs attention); some failed -> partial, with counts per reason.
Also: Retry all failed (respecting a reason filter) and the wording of refused authorisations."""

from __future__ import annotations

import pytest

from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus, SyncRun
from routy_app.services import push
from routy_app.services.push import retry as push_retry
from routy_app.services.runs import RunRefused
from tests.integration.factories import hub  # noqa: F401 - fixture
from tests.integration.test_push import ingest, mapped, statuses

META_FBC = "fb.1.1554763741205.c{i}"


def _integration(integration_id: int) -> Integration:
    with session_scope() as session:
        return session.get(Integration, integration_id)


def _run(run_id: int) -> SyncRun:
    with session_scope() as session:
        return session.get(SyncRun, run_id)


async def test_a_push_whose_every_row_failed_is_a_failure_of_the_integration(hub, sandbox_state):
    integration_id, _ = await mapped(hub, "meta_ads")
    ingest(300, fbc=META_FBC)
    for attempt in (1, 2, 3):
        sandbox_state.faults.add("meta.events", "invalid_parameter")  # Meta refuses the batch (code 100)
        summary = await push.run_push(hub, integration_id, "manual")
        assert (summary.status, summary.read, summary.sent, summary.failed) == ("failed", 300, 0, 300)
        run = _run(summary.run_id)
        assert run.status == "failed" and run.records_failed == 300
        assert "300 failed" in run.error and "Invalid parameter" in run.error  # the reason, summarised
        integration = _integration(integration_id)
        assert integration.consecutive_failures == attempt and integration.last_success_at is None
        assert (
            "300 of 300 conversions failed" in integration.last_error and "Invalid parameter" in integration.last_error
        )
        assert integration.status == (IntegrationStatus.NEEDS_ATTENTION if attempt == 3 else IntegrationStatus.ACTIVE)
        assert push_retry.retry_failed(integration_id) == 300
    summary = await push.run_push(hub, integration_id, "manual")  # the provider takes them now
    assert summary.status == "success" and summary.sent == 300
    integration = _integration(integration_id)
    assert integration.status == IntegrationStatus.ACTIVE and integration.consecutive_failures == 0
    assert integration.last_error is None and integration.last_success_at is not None


async def test_a_push_where_some_rows_failed_is_partial_with_counts_per_reason(hub, sandbox_state):
    integration_id, _ = await mapped(hub, "meta_ads")
    ingest(1500, fbc=META_FBC)  # two requests: 1,000 + 500
    ingest(2, start=5000)  # no identifier Meta can match: skipped, not failed
    sandbox_state.faults.add("meta.events", "invalid_parameter")  # the first request is refused
    summary = await push.run_push(hub, integration_id, "manual")
    assert (summary.status, summary.sent, summary.failed, summary.skipped) == ("partial", 500, 1000, 2)
    run = _run(summary.run_id)
    assert run.status == "partial" and "1,000 failed" in run.error and "Invalid parameter" in run.error
    assert "2 skipped" in run.error
    integration = _integration(integration_id)
    assert "1,000 of 1,502 conversions failed" in integration.last_error
    assert integration.status == IntegrationStatus.ACTIVE and integration.consecutive_failures == 0


async def test_retry_all_failed_requeues_the_failed_rows_of_the_chosen_reason(hub, sandbox_state):
    integration_id, _ = await mapped(hub, "meta_ads")
    ingest(1500, fbc=META_FBC)
    sandbox_state.faults.add("meta.events", "invalid_parameter")  # the first request: refused for good
    sandbox_state.faults.add("meta.events", "http_500", times=4)  # the second: down, after every retry
    summary = await push.run_push(hub, integration_id, "manual")
    assert summary.failed == 1500 and summary.status == "failed" and sandbox_state.faults.pending() == []
    with session_scope() as session:
        reasons = push_retry.failure_reasons(session, integration_id)
    assert sorted(r.count for r in reasons) == [500, 1000] and all(r.reason for r in reasons)
    invalid = next(r for r in reasons if "Invalid parameter" in r.reason)
    with session_scope() as session:
        assert push_retry.retry_failed(integration_id, invalid.reason) == 1000
    assert statuses(integration_id) == {"pending": 1000, "failed": 500}
    with session_scope() as session:
        assert push_retry.retry_failed(integration_id, invalid.reason) == 0  # nothing left of that reason
        assert push_retry.retry_failed(integration_id + 1) == 0  # another integration's rows are not touched
    assert (await push.run_push(hub, integration_id, "manual")).sent == 1000
    with session_scope() as session:
        assert push_retry.retry_failed(integration_id) == 500
    assert statuses(integration_id) == {"sent": 1000, "pending": 500}


async def test_a_refused_authorisation_reads_as_one_sentence(hub, sandbox_state):
    integration_id, _ = await mapped(hub, "meta_ads")
    ingest(3, fbc=META_FBC)
    sandbox_state.faults.add("meta.events", "revoked_token")
    summary = await push.run_push(hub, integration_id, "manual")
    assert summary.status == "failed" and ".." not in summary.message
    assert "Conversions stay queued" in summary.message and statuses(integration_id) == {"pending": 3}
    assert _integration(integration_id).status == IntegrationStatus.RECONNECT_REQUIRED
    assert ".." not in (_run(summary.run_id).error or "")
    with pytest.raises(RunRefused) as refused:
        await push.run_push(hub, integration_id, "manual")
    assert ".." not in refused.value.message and "Reconnect" in refused.value.message
