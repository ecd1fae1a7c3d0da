import datetime as dt

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import DateTime, inspect, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from routy_app.db import alembic_config, get_engine, session_scope
from routy_app.models import ConversionPush, Integration, MetricRow, PushRequest, TrafficSource, UTCDateTime
from tests.markers import sqlite_only


def test_migrations_create_every_table_and_match_the_models(db):
    names = set(inspect(get_engine()).get_table_names())
    assert set(SQLModel.metadata.tables) <= names
    with get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_migrate_twice_is_a_no_op(db):
    command.upgrade(alembic_config(), "head")
    with session_scope() as s:
        assert len(s.exec(select(TrafficSource)).all()) == 1


def test_datetimes_come_back_as_aware_utc(db):
    berlin = dt.timezone(dt.timedelta(hours=1))
    with session_scope() as s:
        source = TrafficSource(name="x", created_at=dt.datetime(2026, 1, 1, 13, 0, tzinfo=berlin))
        s.add(source)
        s.commit()
        source_id = source.id
    with session_scope() as s:
        loaded = s.get(TrafficSource, source_id)
        assert loaded.created_at == dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
        assert loaded.created_at.tzinfo is not None


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 11, 27, 17, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 27, 17, 0, 0, 5, tzinfo=dt.UTC),
        dt.datetime(999, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))),
    ],
)
def test_sqlite_datetime_text_is_sqlalchemys_format_and_reads_back_as_utc(moment):
    """The fast SQLite conversion writes exactly what SQLAlchemy's own DateTime would (ordering and
    equality in SQL depend on it) and reads back the same instant with the UTC singleton."""
    dialect = sqlite.dialect()
    utc_type = UTCDateTime()
    text = utc_type._cached_bind_processor(dialect)(moment)
    stock = DateTime().dialect_impl(dialect).bind_processor(dialect)(moment.astimezone(dt.UTC).replace(tzinfo=None))
    assert text == stock
    back = utc_type._cached_result_processor(dialect, None)(text)
    assert back == moment and back.tzinfo is dt.UTC
    assert utc_type._cached_result_processor(dialect, None)("2026-11-27 17:00:00") == dt.datetime(
        2026, 11, 27, 17, tzinfo=dt.UTC
    )


def test_naive_datetimes_are_refused(db):
    with session_scope() as s:
        s.add(TrafficSource(name="x", created_at=dt.datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive"):
            s.commit()


def test_one_integration_per_provider_per_source(db):
    with session_scope() as s:
        s.add(Integration(traffic_source_id=1, provider="google_ads"))
        s.commit()
        s.add(Integration(traffic_source_id=1, provider="google_ads"))
        with pytest.raises(IntegrityError):
            s.commit()


def test_metric_natural_key_is_unique_with_blank_ids(db):
    with session_scope() as s:
        s.add(Integration(id=1, traffic_source_id=1, provider="google_ads"))
        s.commit()
        row = {
            "integration_id": 1,
            "level": "campaign",
            "date": dt.date(2026, 1, 1),
            "campaign_id": "1",
            "cost_micros": 10**15,
        }
        s.add(MetricRow(**row))
        s.commit()
        s.add(MetricRow(**row))
        with pytest.raises(IntegrityError):
            s.commit()


@sqlite_only
def test_0004_keeps_the_push_history_of_an_older_database(data_dir):
    """Upgrading from 0003: claimed rows are due again, pending rows get a time, each Google request's
    answer and verdict move to one pushrequest row that its sent rows point to."""
    command.upgrade(alembic_config(), "0003")
    t0, t1 = "2026-11-01 10:00:00.000000", "2026-11-01 10:05:00.000000"
    with get_engine().begin() as conn:
        for sql in (
            "INSERT INTO trafficsource (id, name, created_at) VALUES (1, 'src', :t0)",
            "INSERT INTO integration (id, traffic_source_id, provider, status, settings_json, direction, "
            "schedule_minutes, lookback_days, history_days, consecutive_failures, created_at, updated_at) "
            "VALUES (1, 1, 'google_ads', 'active', '{}', 'bidirectional', 60, 7, 30, 0, :t0, :t0)",
            "INSERT INTO conversionmapping (id, integration_id, event_type, action_id, action_name, extra_json, "
            "enabled, created_at) VALUES (1, 1, 'sale', 'a1', 'Purchase', '{}', 1, :t0)",
        ):
            conn.execute(text(sql), {"t0": t0})
        for n in range(1, 6):
            conn.execute(
                text(
                    "INSERT INTO conversion (id, traffic_source_id, external_id, event_type, occurred_at, "
                    "value_micros, currency, received_at) VALUES (:n, 1, :e, 'sale', :t0, 0, 'USD', :t0)"
                ),
                {"n": n, "e": f"ord-{n}", "t0": t0},
            )
        rows = [
            (1, "sent", "r1", "accepted", "accepted by Data Manager, requestId r1 | Verdict: SUCCESS", None),
            (2, "sent", "r1", "accepted", "accepted by Data Manager, requestId r1 | Verdict: SUCCESS", None),
            (3, "sent", "r2", "processing", "accepted by Data Manager, requestId r2", t1),
            (4, "sending", None, None, None, None),
            (5, "pending", None, None, None, None),
        ]
        for n, status, request_id, verdict, response, next_at in rows:
            conn.execute(
                text(
                    "INSERT INTO conversionpush (id, integration_id, conversion_id, mapping_id, status, "
                    "attempts, next_attempt_at, claimed_until, sent_at, request_id, verdict, "
                    "provider_response, created_at) VALUES (:n, 1, :n, 1, :status, 0, :next_at, NULL, "
                    ":sent, :request_id, :verdict, :response, :t0)"
                ),
                {
                    "n": n,
                    "status": status,
                    "next_at": next_at,
                    "sent": t0 if status == "sent" else None,
                    "request_id": request_id,
                    "verdict": verdict,
                    "response": response,
                    "t0": t0,
                },
            )
    command.upgrade(alembic_config(), "head")
    with session_scope() as s:
        pushes = {p.id: p for p in s.exec(select(ConversionPush)).all()}
        requests = {r.request_id: r for r in s.exec(select(PushRequest)).all()}
        assert set(requests) == {"r1", "r2"}
        assert pushes[1].push_request_id == pushes[2].push_request_id == requests["r1"].id
        assert (requests["r1"].verdict, requests["r1"].next_check_at) == ("accepted", None)
        assert requests["r2"].verdict == "processing" and requests["r2"].next_check_at is not None  # still polled
        assert all(pushes[n].next_attempt_at is None for n in (1, 2, 3))
        assert (pushes[4].status, pushes[5].status) == ("pending", "pending")
        assert pushes[4].next_attempt_at is not None and pushes[5].next_attempt_at is not None  # due: sent next run
    with get_engine().connect() as conn:
        due_index = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'ix_push_due'")).scalar_one()
    assert "WHERE next_attempt_at IS NOT NULL" in due_index
