"""One evaluation (detect the problems and reconcile incidents), and a channel's test message.

Evaluation: detect the problems that exist now and reconcile them with the incident rows.

Reads the database only (integration statuses, runs, the outbox, the API version table), so it
works the same from whichever replica leads the scheduler and needs no hooks in the sync code.
"""

from __future__ import annotations

import datetime as dt
import logging

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.services.alerts import channels, messages, rules, transports
from routy_app.services.alerts.detect import Context, detect
from routy_app.services.alerts.incidents import Summary, reconcile
from routy_app.services.alerts.transports import SendOutcome, Transport
from routy_app.timeutil import utcnow

log = logging.getLogger("routy.alerts")


def evaluate(now: dt.datetime | None = None) -> Summary:
    """Open, repeat and resolve incidents as of `now` (default: the current time) and queue their notices."""
    now = now or utcnow()
    settings = get_settings()
    with session_scope() as session:
        stored = rules.all_rules(session)
        defaults = rules.defaults()

        def rule_of(source_id: int) -> dict[str, rules.Rule]:
            return stored.get(source_id, defaults)

        ctx = Context(
            now=now,
            rules=rule_of,
            versions={status.provider: status.version for status in settings.api_versions()},
        )
        found, failed = detect(session, ctx)
        for kind, error in failed.items():
            log.error("alert check %s failed (its incidents are left as they are): %s", kind, error)
        return reconcile(session, found, now=now, public_url=settings.public_url, rules=rule_of)


async def send_test(transport: Transport, channel_id: int, public_url: str) -> SendOutcome:
    """Send a test message over one channel now (not through the outbox); the result is kept on the channel."""
    with session_scope() as session:
        config = channels.config_of(channels.get_channel(session, channel_id))
    payload = messages.test_payload(config.name, transport.now(), public_url)
    outcome = await transports.send(transport, config, payload, public_url)
    with session_scope() as session:
        channels.record_test(session, channel_id, outcome.ok, outcome.message)
    return outcome
