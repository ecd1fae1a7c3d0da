"""Google Data Manager verdicts: sent -> processing -> accepted / partial, polled with a minimum interval."""

from __future__ import annotations

import datetime as dt

import pytest

from routy_app.services import push
from routy_app.services.push import outcomes
from tests.integration.factories import hub  # noqa: F401 - fixture
from tests.integration.test_push import ingest, make_due, mapped, pushes, request_of, verdicts


@pytest.fixture(autouse=True)
def verdicts_due_at_once(monkeypatch):
    monkeypatch.setattr(outcomes, "VERDICT_FIRST", dt.timedelta(0))


async def test_processing_then_success_is_recorded_as_accepted(hub, sandbox_state):
    sandbox_state.config.verdict_after_polls = 1
    integration_id, _ = await mapped(hub)
    ingest(3, gclid="Cj0-{i}")
    await push.run_push(hub, integration_id)
    assert await push.poll_verdicts(hub, integration_id) == 0  # PROCESSING
    assert set(verdicts(integration_id)) == {"processing"}
    assert await push.poll_verdicts(hub, integration_id) == 0  # polled a moment ago: not asked again yet
    make_due(integration_id)
    assert await push.poll_verdicts(hub, integration_id) == 1
    rows = pushes(integration_id)
    assert set(verdicts(integration_id)) == {"accepted"}
    assert all("Verdict: SUCCESS" in request_of(r).verdict_detail for r in rows)
    make_due(integration_id)
    assert await push.poll_verdicts(hub, integration_id) == 0  # settled rows are never polled again


async def test_partial_success_is_recorded_on_every_row_of_the_request(hub, sandbox_state):
    sandbox_state.config.verdict_after_polls = 0
    integration_id, _ = await mapped(hub)
    ingest(2, gclid="Cj0-{i}")
    ingest(1, start=2, gclid="bad-click")  # the sandbox does not know this click
    await push.run_push(hub, integration_id)
    assert await push.poll_verdicts(hub, integration_id, every=dt.timedelta(0)) == 1
    rows = pushes(integration_id)
    assert set(verdicts(integration_id)) == {"partial: CLICK_NOT_FOUND x1"}
    assert all("not which event failed" in request_of(r).verdict_detail for r in rows)


async def test_push_due_all_polls_verdicts_too(hub, sandbox_state):
    sandbox_state.config.verdict_after_polls = 0
    integration_id, _ = await mapped(hub)
    ingest(1, gclid="Cj0-x")
    await push.push_due_all(hub)  # sends; the verdict is due at once with VERDICT_FIRST = 0
    assert verdicts(integration_id) == ["accepted"]


async def test_forced_partial_failure_from_the_status_endpoint(hub, sandbox_state):
    sandbox_state.config.verdict_after_polls = 0
    integration_id, _ = await mapped(hub)
    ingest(4, gclid="Cj0-{i}")
    await push.run_push(hub, integration_id)
    sandbox_state.faults.add(
        "datamanager.status", "partial_failure", reason="PROCESSING_ERROR_REASON_EVENT_TOO_OLD", count=2
    )
    await push.poll_verdicts(hub, integration_id)
    assert set(verdicts(integration_id)) == {"partial: EVENT_TOO_OLD x2"}
