"""Alert channels and their outbox against real receivers: an SMTP server (aiosmtpd, STARTTLS + AUTH)
and an HTTP endpoint in this process. Secrets stay encrypted, signatures verify with the README's recipe,
failures retry with backoff or fail visibly, and a notice is sent once however many senders race."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging

import httpx
import pytest

from routy_app.db import session_scope
from routy_app.models import Integration, IntegrationStatus
from routy_app.services.alerts import channels, delivery, views
from routy_app.services.alerts.channels import ChannelProblem
from routy_app.services.alerts.delivery import deliver_due
from routy_app.services.alerts.evaluator import evaluate, send_test
from routy_app.services.alerts.transports import Transport
from routy_app.services.audit import scan_for_secrets
from tests.integration.alert_fixtures import (  # noqa: F401
    SIGNING_SECRET,
    SMTP_PASSWORD,
    SMTP_USER,
    clock,
    deliveries,
    email_channel,
    http_receiver,
    slack_channel,
    smtp_receiver,
    transport,
    webhook_channel,
)
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture
from tests.readme_recipe import verify_routy_signature
from tests.receivers import HttpReceiver, SmtpReceiver

PUBLIC = "http://sandbox.test"


async def _incident(hub, clock) -> int:
    """An open incident (Google Ads needs reconnection) with its "opened" notices queued."""
    google = await connected_integration(hub, "google_ads")
    with session_scope() as session:
        integration = session.get(Integration, google)
        integration.status, integration.last_error = IntegrationStatus.RECONNECT_REQUIRED, "invalid_grant"
        session.add(integration)
        session.commit()
    assert evaluate(clock()).opened == 1
    return google


# ---------------------------------------------------------------- channels and their secrets


def test_channel_secrets_are_encrypted_masked_and_kept_when_left_blank(db, smtp_receiver, http_receiver):
    email_id = email_channel(smtp_receiver)
    slack_id = slack_channel(http_receiver)
    hook_id = webhook_channel(http_receiver)
    with session_scope() as session:
        rows = {r.id: r for r in views.channel_rows(session)}
        assert rows[email_id].target == f"127.0.0.1:{smtp_receiver.port} → ops@example.com, oncall@example.com"
        assert rows[slack_id].target == f"{http_receiver.base_url}/…"
        assert rows[hook_id].target == f"{http_receiver.base_url}/…"
        form = views.channel_form(session, email_id)
        assert form.has_password and form.username == SMTP_USER and not hasattr(form, "password")
        channels.save_channel(session, email_id, "email", {**form.__dict__, "password": "", "name": "Renamed"})
        assert channels.config_of(channels.get_channel(session, email_id)).secrets["password"] == SMTP_PASSWORD
        channels.save_channel(session, hook_id, "webhook", {"name": "Pager webhook", "url": "", "signing_secret": ""})
        kept = channels.config_of(channels.get_channel(session, hook_id)).secrets
        assert kept == {"url": http_receiver.base_url + "/hook?token=abc123", "signing_secret": SIGNING_SECRET}
    files = [db / "routy.db", db / "routy.db-wal"]
    assert scan_for_secrets(files, [SMTP_PASSWORD, SIGNING_SECRET, "XXXXsecretXXXX", "token=abc123"]) == []


@pytest.mark.parametrize(
    "kind, form, fields",
    [
        (
            "email",
            {
                "name": "",
                "host": "smtp example",
                "port": "70000",
                "security": "ssl3",
                "from_addr": "nobody",
                "to_addrs": "a@b.co, not-an-address",
            },
            {"name", "host", "port", "security", "from_addr", "to_addrs"},
        ),
        (
            "email",
            {"name": "x", "host": "smtp.example.com", "username": "me", "from_addr": "a@b.co", "to_addrs": "c@d.co"},
            {"password"},
        ),
        ("slack", {"name": "x", "url": "hooks.slack.com/services/T/B/C"}, {"url"}),
        ("webhook", {"name": "x", "url": "ftp://example.com/", "signing_secret": "short"}, {"url", "signing_secret"}),
        ("webhook", {"name": "x", "url": "https://example.com/hook"}, {"signing_secret"}),
        # no alert to link-local or cloud metadata addresses (outbound/guard.py)
        ("webhook", {"name": "x", "url": "http://169.254.169.254/latest/", "signing_secret": "s" * 20}, {"url"}),
        ("slack", {"name": "x", "url": "http://metadata.google.internal/computeMetadata/v1/"}, {"url"}),
        ("slack", {"name": "x", "url": "http://[fd00:ec2::254]/x"}, {"url"}),
    ],
)
def test_bad_channel_forms_name_each_field_and_save_nothing(db, kind, form, fields):
    with session_scope() as session:
        with pytest.raises(ChannelProblem) as refused:
            channels.save_channel(session, None, kind, form)
        assert set(refused.value.field_errors) == fields
        assert channels.list_channels(session) == []


# ---------------------------------------------------------------- send test, over each kind of channel


async def test_send_test_over_smtp_with_starttls_and_login(db, transport, smtp_receiver):
    channel = email_channel(smtp_receiver)
    outcome = await send_test(transport, channel, PUBLIC)
    assert outcome.ok, outcome.message
    mail = smtp_receiver.mails.wait_for(lambda m: len(m) == 1)[0]
    assert mail.tls and mail.login == SMTP_USER
    assert mail.rcpt_tos == ["ops@example.com", "oncall@example.com"] and mail.mail_from == "alerts@routy.test"
    assert mail.message["Subject"] == "[Routy] Test: Test alert"
    assert 'for the channel "Ops email"' in mail.message.get_content()
    with session_scope() as session:
        row = next(r for r in views.channel_rows(session) if r.id == channel)
        assert row.test_ok and row.tested and row.test_message.startswith("Delivered: 127.0.0.1 accepted it")


async def test_send_test_refuses_a_server_that_does_not_offer_starttls(db, clock, tmp_path):
    with SmtpReceiver() as plain:  # no TLS at all
        async with httpx.AsyncClient() as client:
            channel = email_channel(plain)
            outcome = await send_test(Transport(http=client, now=clock), channel, PUBLIC)
    assert not outcome.ok and "does not offer STARTTLS" in outcome.message
    assert plain.mails.items == []


async def test_wrong_smtp_password_fails_at_once_and_is_never_logged(db, transport, smtp_receiver, caplog):
    caplog.set_level(logging.DEBUG, logger="routy")
    with session_scope() as session:
        channel = channels.save_channel(
            session,
            None,
            "email",
            {
                "name": "Bad login",
                "host": "127.0.0.1",
                "port": str(smtp_receiver.port),
                "security": "starttls",
                "username": SMTP_USER,
                "password": "wrong-password-4471",
                "from_addr": "a@routy.test",
                "to_addrs": "b@x.co",
            },
        )
    outcome = await send_test(transport, int(channel.id), PUBLIC)
    assert not outcome.ok and not outcome.retryable and "refused the user name or password (535" in outcome.message
    assert "wrong-password-4471" not in caplog.text and "wrong-password-4471" not in outcome.message


async def test_send_test_over_slack_and_the_signed_webhook(db, transport, http_receiver):
    slack = slack_channel(http_receiver)
    hook = webhook_channel(http_receiver)
    assert (await send_test(transport, slack, PUBLIC)).ok
    assert (await send_test(transport, hook, PUBLIC)).ok
    slack_request, hook_request = http_receiver.requests.wait_for(lambda r: len(r) == 2)
    assert slack_request.path == "/services/T0001/B0001/XXXXsecretXXXX"
    assert json.loads(slack_request.body)["text"].startswith(":bell: *Test* · Test alert")
    assert hook_request.path == "/hook?token=abc123"
    payload = json.loads(hook_request.body)
    assert payload["type"] == "test" and payload["incident"] is None
    assert hook_request.headers["x-routy-event"] == "test"
    assert verify_routy_signature()(SIGNING_SECRET, hook_request.headers["x-routy-signature"], hook_request.body)


async def test_send_time_checks_where_the_host_resolves(db, transport, http_receiver, monkeypatch):
    """A saved URL whose name now resolves to a metadata address is not sent to; loopback only when allowed."""
    import dataclasses
    import ipaddress

    from routy_app.outbound import guard

    hook = webhook_channel(http_receiver)
    strict = dataclasses.replace(transport, guard=guard.Guard(allow_local=False))
    outcome = await send_test(strict, hook, PUBLIC)  # the receiver listens on 127.0.0.1
    assert not outcome.ok and not outcome.retryable and "ROUTY_WEBHOOK_ALLOW_LOCAL" in outcome.message

    async def metadata(host: str, port: int):
        return [ipaddress.ip_address("169.254.169.254")]

    monkeypatch.setattr(guard, "resolve", metadata)
    with session_scope() as session:
        channels.save_channel(session, hook, "webhook", {"name": "Pager webhook", "url": "http://hooks.example.com/x"})
    outcome = await send_test(transport, hook, PUBLIC)
    assert not outcome.ok and "metadata" in outcome.message
    assert http_receiver.requests.items == []  # neither request left this process


# ---------------------------------------------------------------- the outbox


async def test_incident_notices_reach_every_channel_and_the_signature_verifies_with_the_readme_recipe(
    hub, clock, transport, smtp_receiver, http_receiver
):
    email_channel(smtp_receiver)
    slack_channel(http_receiver)
    webhook_channel(http_receiver)
    await _incident(hub, clock)
    summary = await deliver_due(transport, PUBLIC, now=clock())
    assert (summary.sent, summary.retrying, summary.failed) == (3, 0, 0)
    mail = smtp_receiver.mails.wait_for(lambda m: len(m) == 1)[0].message
    body = mail.get_content()
    assert "Google Ads refused Routy's authorisation (invalid_grant)" in body
    assert "Traffic source: Default traffic source · Google Ads · Routy Shop US (1234567890)" in body
    assert "Open in Routy: http://sandbox.test/sources/1" in body
    requests = http_receiver.requests.wait_for(lambda r: len(r) == 2)
    hook = next(r for r in requests if r.path.startswith("/hook"))
    slack = next(r for r in requests if r.path.startswith("/services"))
    verify = verify_routy_signature()
    assert verify(SIGNING_SECRET, hook.headers["x-routy-signature"], hook.body)
    assert not verify(SIGNING_SECRET, hook.headers["x-routy-signature"], hook.body.replace(b"open", b"shut"))
    assert not verify("whsec_some-other-secret-000", hook.headers["x-routy-signature"], hook.body)
    payload = json.loads(hook.body)
    assert hook.headers["x-routy-delivery"] == payload["id"] == "inc1-opened-0"
    assert payload["incident"]["integration"] == {
        "id": 1,
        "provider": "google_ads",
        "provider_name": "Google Ads",
        "account_id": "1234567890",
        "account_name": "Routy Shop US",
    }
    assert json.loads(slack.body)["text"].startswith(":rotating_light: *Opened* · Google Ads needs reconnection")
    assert "<http://sandbox.test/sources/1|Open in Routy>" in json.loads(slack.body)["text"]


async def test_a_5xx_is_retried_with_backoff_and_the_same_event_id(hub, clock, transport, http_receiver):
    webhook_channel(http_receiver)
    await _incident(hub, clock)
    http_receiver.answers = [500, 503]
    first = await deliver_due(transport, PUBLIC, now=clock())
    assert first.retrying == 1
    row = deliveries()[0]
    assert row.status == "pending" and row.attempts == 1 and "HTTP 500" in row.last_error
    assert clock() + dt.timedelta(seconds=48) <= row.next_attempt_at <= clock() + dt.timedelta(seconds=72)
    assert (await deliver_due(transport, PUBLIC, now=clock.advance(seconds=30))).retrying == 0  # not due yet
    with session_scope() as session:
        problem = views.delivery_problems(session)[0]
        assert (problem.status, problem.attempts, problem.channel) == ("retrying", 1, "Pager webhook")
    assert (await deliver_due(transport, PUBLIC, now=clock.advance(seconds=45))).retrying == 1
    assert deliveries()[0].next_attempt_at >= clock() + dt.timedelta(seconds=96)  # doubled
    assert (await deliver_due(transport, PUBLIC, now=clock.advance(minutes=3))).sent == 1
    requests = http_receiver.requests.wait_for(lambda r: len(r) == 3)
    assert len({r.headers["x-routy-delivery"] for r in requests}) == 1
    assert len({r.body for r in requests}) == 1
    with session_scope() as session:
        assert views.delivery_problems(session) == []


async def test_a_4xx_fails_at_once_is_listed_and_an_admin_can_retry_it(hub, clock, transport, http_receiver):
    webhook_channel(http_receiver)
    await _incident(hub, clock)
    http_receiver.answers = [400]
    assert (await deliver_due(transport, PUBLIC, now=clock())).failed == 1
    assert (await deliver_due(transport, PUBLIC, now=clock.advance(hours=2))).failed == 0
    with session_scope() as session:
        problem = views.delivery_problems(session)[0]
        assert problem.status == "failed" and "HTTP 400; not retried" in problem.error
        delivery.retry(session, problem.id, clock())
    assert (await deliver_due(transport, PUBLIC, now=clock())).sent == 1
    assert len(http_receiver.requests.items) == 2


async def test_gives_up_after_the_last_attempt(hub, clock, transport, http_receiver):
    webhook_channel(http_receiver)
    await _incident(hub, clock)
    http_receiver.answers = [503] * delivery.MAX_ATTEMPTS
    for _ in range(delivery.MAX_ATTEMPTS):
        await deliver_due(transport, PUBLIC, now=clock.advance(hours=2))
    row = deliveries()[0]
    assert row.status == "failed" and row.attempts == delivery.MAX_ATTEMPTS
    assert row.last_error.endswith(f"Gave up after {delivery.MAX_ATTEMPTS} attempts.")


async def test_smtp_temporary_and_permanent_refusals(hub, clock, tmp_path):
    async with httpx.AsyncClient() as client:
        transport = Transport(http=client, now=clock)
        with SmtpReceiver(refuse_with="451 4.3.0 Mail server temporarily rejected message") as busy:
            with session_scope() as session:
                channels.save_channel(
                    session,
                    None,
                    "email",
                    {
                        "name": "Relay",
                        "host": "127.0.0.1",
                        "port": str(busy.port),
                        "security": "none",
                        "from_addr": "a@routy.test",
                        "to_addrs": "b@x.co",
                    },
                )
            await _incident(hub, clock)
            assert (await deliver_due(transport, PUBLIC, now=clock())).retrying == 1
            busy.refuse_with = "550 5.7.1 Relaying denied"
            assert (await deliver_due(transport, PUBLIC, now=clock.advance(minutes=5))).failed == 1
    assert "550 5.7.1 Relaying denied" in deliveries()[0].last_error


async def test_an_unreachable_receiver_is_retried(hub, clock, transport):
    with HttpReceiver() as gone:
        webhook_channel(gone)
    await _incident(hub, clock)
    assert (await deliver_due(transport, PUBLIC, now=clock())).retrying == 1
    assert deliveries()[0].last_error.startswith("Could not connect")


async def test_racing_senders_deliver_each_notice_once(hub, clock, transport, http_receiver, smtp_receiver):
    webhook_channel(http_receiver)
    slack_channel(http_receiver)
    email_channel(smtp_receiver)
    await _incident(hub, clock)
    results = await asyncio.gather(*[deliver_due(transport, PUBLIC, now=clock()) for _ in range(4)])
    assert sum(r.sent for r in results) == 3
    assert len(http_receiver.requests.items) == 2 and len(smtp_receiver.mails.items) == 1


async def test_a_disabled_channel_gets_nothing_new_and_its_queued_notices_are_cancelled(
    hub, clock, transport, http_receiver
):
    channel = webhook_channel(http_receiver)
    await _incident(hub, clock)
    with session_scope() as session:
        channels.set_enabled(session, channel, False)
    assert (await deliver_due(transport, PUBLIC, now=clock())).cancelled == 1
    assert http_receiver.requests.items == []


async def test_nothing_secret_reaches_the_logs(hub, clock, transport, http_receiver, smtp_receiver, caplog):
    """Routy's own logs (httpx, which logs whole URLs, is held at WARNING by logging_setup)."""
    caplog.set_level(logging.DEBUG, logger="routy")
    webhook_channel(http_receiver)
    slack_channel(http_receiver)
    email_channel(smtp_receiver)
    await _incident(hub, clock)
    http_receiver.answers = [500]
    await deliver_due(transport, PUBLIC, now=clock())
    await deliver_due(transport, PUBLIC, now=clock.advance(hours=1))
    assert any(r.name == "routy.alerts" for r in caplog.records)
    for secret in (SMTP_PASSWORD, SIGNING_SECRET, "XXXXsecretXXXX", "token=abc123"):
        assert secret not in caplog.text
    for row in deliveries():
        assert "XXXXsecretXXXX" not in (row.last_error or "") and "abc123" not in (row.last_error or "")
