import datetime as dt

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from routy_app.db import alembic_config, get_engine, session_scope
from routy_app.models import Integration, MetricRow, TrafficSource


def test_migrations_create_every_table_and_match_the_models(db):
    names = set(inspect(get_engine()).get_table_names())
    assert {t for t in SQLModel.metadata.tables} <= names
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
        assert loaded.created_at == dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
        assert loaded.created_at.tzinfo is not None


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
        row = dict(integration_id=1, level="campaign", date=dt.date(2026, 1, 1), campaign_id="1", cost_micros=10**15)
        s.add(MetricRow(**row))
        s.commit()
        s.add(MetricRow(**row))
        with pytest.raises(IntegrityError):
            s.commit()
