"""Fixtures for the alert tests: a clock the test moves, receivers, channels, a transport."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import httpx
import pytest
from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import AlertDelivery, Incident
from routy_app.services.alerts import channels
from routy_app.services.alerts.transports import Transport
from routy_app.timeutil import utcnow
from tests.receivers import HttpReceiver, SmtpReceiver, self_signed_cert

SIGNING_SECRET = "whsec_integration-test-secret-42"
SMTP_USER, SMTP_PASSWORD = "routy-alerts", "smtp-pass-Zq81-never-logged"


@dataclass
class Clock:
    """The time the evaluator and the outbox see; tests move it instead of sleeping."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now = self.now + dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(utcnow())


@pytest.fixture
def http_receiver():
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_receiver(tmp_path):
    with SmtpReceiver(cert=self_signed_cert(tmp_path), username=SMTP_USER, password=SMTP_PASSWORD) as receiver:
        yield receiver


@pytest.fixture
async def transport(clock, smtp_receiver):
    async with httpx.AsyncClient() as client:
        yield Transport(http=client, tls_context=smtp_receiver.client_tls_context, now=clock, smtp_timeout=10)


def email_channel(smtp: SmtpReceiver, name: str = "Ops email") -> int:
    with session_scope() as session:
        return int(
            channels.save_channel(
                session,
                None,
                channels.EMAIL,
                {
                    "name": name,
                    "host": "127.0.0.1",
                    "port": str(smtp.port),
                    "security": "starttls",
                    "username": SMTP_USER,
                    "password": SMTP_PASSWORD,
                    "from_addr": "Routy <alerts@routy.test>",
                    "to_addrs": "ops@example.com, oncall@example.com",
                },
            ).id
        )


def webhook_channel(receiver: HttpReceiver, name: str = "Pager webhook", path: str = "/hook?token=abc123") -> int:
    with session_scope() as session:
        return int(
            channels.save_channel(
                session,
                None,
                channels.WEBHOOK,
                {"name": name, "url": receiver.base_url + path, "signing_secret": SIGNING_SECRET},
            ).id
        )


def slack_channel(receiver: HttpReceiver, name: str = "#alerts") -> int:
    with session_scope() as session:
        return int(
            channels.save_channel(
                session,
                None,
                channels.SLACK,
                {"name": name, "url": receiver.base_url + "/services/T0001/B0001/XXXXsecretXXXX"},
            ).id
        )


def incidents(status: str | None = None) -> list[Incident]:
    with session_scope() as session:
        stmt = select(Incident).order_by(Incident.id)
        if status:
            stmt = stmt.where(Incident.status == status)
        return list(session.exec(stmt).all())


def deliveries() -> list[AlertDelivery]:
    with session_scope() as session:
        return list(session.exec(select(AlertDelivery).order_by(AlertDelivery.id)).all())
