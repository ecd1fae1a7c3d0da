"""The Webhook card end to end through the services: set-up, mapping, outbox pushes into the sandbox's
request bin (in-process), retries, rejections, Test push, pause/resume and disconnect."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import pytest
from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import ConversionPush, Integration
from routy_app.outbound import signing
from routy_app.sandbox.core.state import SandboxState
from routy_app.services import catalog, integrations, mappings, push
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations import ConnectionProblem
from routy_app.services.push import validation
from routy_app.services.runs import RunRefused
from tests.integration.conftest import SANDBOX_ORIGIN
from tests.integration.factories import hub  # noqa: F401 - fixture
from tests.integration.test_push import ingest, make_due, pushes, statuses
from tests.readme_recipe import verify_routy_signature

SECRET = "whsec_integration-test-secret-01"
BIN = f"{SANDBOX_ORIGIN}/sandbox/webhook/bin1"
BODY = '{"id": "{id}", "event": "{event_type}", "value": {value}, "currency": "{currency}", "click": "{click_id}"}'


def webhook_form(**fields: str) -> dict[str, str]:
    return {
        "url_template": BIN + "?id={id}&v={value}",
        "method": "POST",
        "body_template": BODY,
        "headers": "X-Source: routy-{event_type}",
        "auth_type": "bearer",
        "auth_username": "",
        "auth_secret": "tok-123",
        "signing_secret": SECRET,
        **fields,
    }


async def connected(hub: ProviderHub, event_type: str = "sale", **fields: str) -> tuple[int, int]:
    integration = await integrations.setup_manual(hub, 1, "webhook", webhook_form(**fields))
    view = mappings.add_mapping(int(integration.id), event_type, "", "")
    return int(integration.id), view.id


verify = verify_routy_signature()


def received(state: SandboxState) -> list[dict]:
    return state.received["webhook"]


async def test_each_conversion_is_one_signed_request_with_the_rendered_template(hub, sandbox_state):
    integration_id, _ = await connected(hub)
    ingest(3, gclid="Cj0-{i}")
    ingest(2, start=10, event_type="refund")  # not mapped: never sent
    summary = await push.run_push(hub, integration_id, "manual")
    assert (summary.sent, summary.failed, summary.status) == (3, 0, "success")
    got = sorted(received(sandbox_state), key=lambda r: r["json"]["id"])
    assert [r["json"] for r in got] == [
        {"id": f"ord-{i}", "event": "sale", "value": 10.5, "currency": "USD", "click": f"Cj0-{i}"} for i in range(3)
    ]
    for i, request in enumerate(got):
        assert (request["method"], request["bin"]) == ("POST", "bin1")
        assert parse_qs(request["query"]) == {"id": [f"ord-{i}"], "v": ["10.5"]}
        headers = request["headers"]
        assert headers["authorization"] == "Bearer tok-123" and headers["x-source"] == "routy-sale"
        assert headers["idempotency-key"] == f"1:ord-{i}" and headers["content-type"] == "application/json"
        # the README's own recipe: HMAC-SHA256 of "<t>.<raw body>" with the signing secret
        assert verify(SECRET, headers["x-routy-signature"], request["body"].encode())
        assert signing.verify(SECRET, headers["x-routy-signature"], request["body"].encode(), now=int(time.time()))
    # exactly once: a second run finds nothing due and sends nothing
    await push.run_push(hub, integration_id, "manual")
    assert len(received(sandbox_state)) == 3 and statuses(integration_id) == {"sent": 3}
    with session_scope() as session:
        rows, total = push.push_history(session, integration_id, None, 1, 10)
    assert total == 3 and all(r.status == "sent" and r.action == "Webhook" for r in rows)
    assert all("POST http://sandbox.test/sandbox/webhook/bin1?… → HTTP 200 in" in r.detail for r in rows)
    assert all('Answer: {"ok":true' in r.detail and 'Sent: {"id": "ord-' in r.detail for r in rows)


async def test_the_credentials_are_stored_encrypted(hub, sandbox_state):
    integration_id, _ = await connected(hub)
    with session_scope() as session:
        stored = session.get(Integration, integration_id).credentials_enc or ""
    assert stored and "tok-123" not in stored and SECRET not in stored


async def test_get_sends_the_macros_in_the_query_only(hub, sandbox_state):
    integration_id, _ = await connected(hub, method="GET", url_template=BIN + "/pb?cid={click_id}&payout={value}")
    ingest(1, gclid="Cj0 & more=1")
    assert (await push.run_push(hub, integration_id, "manual")).sent == 1
    (request,) = received(sandbox_state)
    assert (request["method"], request["path"], request["body"]) == ("GET", "/sandbox/webhook/bin1/pb", "")
    assert request["params"] == {"cid": "Cj0 & more=1", "payout": "10.5"}  # URL-encoded: no parameter injected


async def test_the_mapping_value_override_is_sent(hub, sandbox_state):
    integration = await integrations.setup_manual(hub, 1, "webhook", webhook_form())
    mappings.add_mapping(int(integration.id), "sale", "", "", {"value": "99.5"})
    ingest(1)
    await push.run_push(hub, int(integration.id), "manual")
    assert received(sandbox_state)[0]["json"]["value"] == 99.5


async def test_a_500_is_retried_and_delivered_once(hub, sandbox_state):
    integration_id, _ = await connected(hub)
    ingest(1)
    sandbox_state.faults.add("webhook.bin1", "http_500", times=1)
    summary = await push.run_push(hub, integration_id, "manual")
    assert summary.sent == 1
    assert [r["status"] for r in received(sandbox_state)] == [500, 200]
    assert [r.attempts for r in pushes(integration_id)] == [1]


async def test_a_receiver_that_stays_down_is_backed_off_by_the_outbox_then_delivered_once(hub, sandbox_state):
    integration_id, _ = await connected(hub)
    ingest(2)
    sandbox_state.faults.add("webhook.receive", "http_503", times=100)
    summary = await push.run_push(hub, integration_id, "manual")
    assert summary.failed == 1 and summary.sent == 0  # the run stops at the first: the receiver is down
    failed = [r for r in pushes(integration_id) if r.status == "failed"]
    assert len(failed) == 1 and failed[0].next_attempt_at is not None  # retried later, with backoff
    assert "HTTP 503" in (failed[0].provider_error or "") and "HTTP 503 in" in (failed[0].provider_response or "")
    tries = len(received(sandbox_state))
    assert 1 < tries <= 3  # a few tries within the run, then the outbox's backoff
    sandbox_state.faults.clear()
    make_due(integration_id)
    await push.run_push(hub, integration_id, "manual")
    assert statuses(integration_id) == {"sent": 2}
    delivered = [r["json"]["id"] for r in received(sandbox_state) if r["status"] == 200]
    assert sorted(delivered) == ["ord-0", "ord-1"]


async def test_a_400_is_not_retried_and_shows_as_rejected_with_the_answer(hub, sandbox_state):
    integration_id, _ = await connected(hub)
    ingest(1)
    sandbox_state.faults.add("webhook.bin1", "http_400", times=1, body='{"error": "unknown offer"}')
    summary = await push.run_push(hub, integration_id, "manual")
    assert summary.failed == 1
    (row,) = pushes(integration_id)
    assert row.status == "failed" and row.next_attempt_at is None and row.attempts == 1
    make_due(integration_id)
    await push.run_push(hub, integration_id, "manual")
    assert len(received(sandbox_state)) == 1  # not sent again
    with session_scope() as session:
        (shown,), _ = push.push_history(session, integration_id, "failed", 1, 10)
    assert "refused the request with HTTP 400; not retried" in shown.detail
    assert "HTTP 400 in" in shown.detail and "unknown offer" in shown.detail


async def test_a_429_waits_for_the_outbox_when_the_receiver_asks_for_long(hub, sandbox_state):
    integration_id, _ = await connected(hub)
    ingest(1)
    sandbox_state.faults.add("webhook.bin1", "http_429", times=100, retry_after=600)
    await push.run_push(hub, integration_id, "manual")
    (row,) = pushes(integration_id)
    assert row.status == "failed" and row.next_attempt_at is not None
    assert len(received(sandbox_state)) == 1  # a hint longer than the run waits is not sat out


async def test_test_push_really_sends_and_shows_the_exact_request(hub, sandbox_state):
    integration_id, mapping_id = await connected(hub)
    (conv_id,) = ingest(1, gclid="Cj0-test")
    result = await validation.validate_push(hub, integration_id, mapping_id, conv_id)
    assert result.ok
    assert "really sends" in result.answer_text and "Authorization: ••••" in result.answer_text
    assert "tok-123" not in result.answer_text + result.payload_json
    assert f"POST {BIN}?id=ord-0&v=10.5" in result.answer_text and "X-Routy-Signature: t=" in result.answer_text
    assert '"click": "Cj0-test"' in result.answer_text and "HTTP 200 in" in result.answer_text
    assert len(received(sandbox_state)) == 1


async def test_pause_keeps_the_queue_and_resume_sends_it(hub, sandbox_state):
    integration_id, _ = await connected(hub)
    integrations.set_paused(integration_id, True)
    ingest(2)
    with pytest.raises(RunRefused, match="Paused"):
        await push.run_push(hub, integration_id)
    assert received(sandbox_state) == [] and statuses(integration_id) == {"pending": 2}
    integrations.set_paused(integration_id, False)
    done = await push.push_due_all(hub)
    assert done[integration_id].sent == 2 and len(received(sandbox_state)) == 2


async def test_disconnect_removes_the_integration_and_nothing_more_is_sent(hub, sandbox_state):
    integration_id, _ = await connected(hub)
    ingest(1)
    await push.run_push(hub, integration_id, "manual")
    assert "disconnected" in await integrations.disconnect(hub, integration_id)
    ingest(1, start=5)
    await push.push_due_all(hub)
    with session_scope() as session:
        assert session.get(Integration, integration_id) is None
        assert session.exec(select(ConversionPush).where(ConversionPush.integration_id == integration_id)).all() == []
    assert len(received(sandbox_state)) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url_template": "http://169.254.169.254/latest/meta-data/"}, "url_template"),
        ({"url_template": "http://metadata.google.internal/computeMetadata/v1/?q={id}"}, "url_template"),
        ({"body_template": '{"id": {id'}, "body_template"),
        ({"url_template": BIN + "?x={nope}"}, "url_template"),
    ],
)
async def test_set_up_refuses_a_bad_field_and_saves_nothing(hub, sandbox_state, fields, field):
    with pytest.raises(ConnectionProblem) as caught:
        await integrations.setup_manual(hub, 1, "webhook", webhook_form(**fields))
    assert caught.value.field == field
    with session_scope() as session:
        assert session.exec(select(Integration).where(Integration.provider == "webhook")).all() == []


async def test_status_tabs_read_right_for_a_push_only_card(hub, sandbox_state):
    """Connection test sends nothing; the Metrics tab says there is nothing to pull."""
    from routy_app.services import metrics_view

    integration_id, _ = await connected(hub)
    outcome = await integrations.check_connection(hub, integration_id)
    assert outcome.ok and received(sandbox_state) == []
    with session_scope() as session:
        text = metrics_view.empty_text(session.get(Integration, integration_id), None)
    assert text == "Webhook only receives conversions: there are no metrics to pull."


async def test_the_card_of_a_push_only_provider_speaks_of_pushes_not_syncs(hub, sandbox_state):
    integration_id, _ = await connected(hub)
    with session_scope() as session:
        card = catalog.card_of(session, integration_id)
    assert card is not None and card.status_line == "Ready: conversions are pushed as they arrive."
    ingest(1)
    await push.run_push(hub, integration_id, "manual")
    with session_scope() as session:
        card = catalog.card_of(session, integration_id)
    assert card is not None and card.status_line.startswith("Last pushed ")
