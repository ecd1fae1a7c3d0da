"""Queueing conversions for push (services/outbox.py): mapping filters and idempotence."""

from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import Conversion, ConversionMapping, ConversionPush, Integration
from routy_app.services.push.outbox import enqueue_for_conversions, enqueue_missing
from routy_app.timeutil import utcnow


def test_enqueue(db):
    with session_scope() as s:
        i = Integration(traffic_source_id=1, provider="google_ads", status="active", account_id="1")
        s.add(i)
        s.commit()
        m = ConversionMapping(integration_id=i.id, event_type="lead", action_id="789")
        m2 = ConversionMapping(integration_id=i.id, event_type="sale", action_id="790", enabled=False)
        s.add(m)
        s.add(m2)
        s.commit()
        c = Conversion(traffic_source_id=1, external_id="a", event_type="lead", occurred_at=utcnow())
        c2 = Conversion(traffic_source_id=1, external_id="b", event_type="sale", occurred_at=utcnow())
        s.add(c)
        s.add(c2)
        s.commit()
        assert enqueue_for_conversions(s, [c.id, c2.id]) == 1
        assert enqueue_for_conversions(s, [c.id]) == 0
        assert enqueue_missing(s) == 0
        s.commit()
        rows = s.exec(select(ConversionPush)).all()
        assert len(rows) == 1 and rows[0].next_attempt_at.tzinfo is not None
