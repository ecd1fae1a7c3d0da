"""db.PlainRows gives the same rows as SQLAlchemy's own execution, binds processed the same way."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, bindparam, create_engine, select

from routy_app.db import PlainRows, get_engine
from routy_app.models import UTCDateTime

metadata = MetaData()
things = Table(
    "plain_rows_thing",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20)),
    Column("at", UTCDateTime()),
    Column("naive_at", DateTime()),
    Column("on", Boolean()),
)
UTC = dt.UTC
ROWS = [
    {
        "id": i,
        "name": f"n{i}",
        "at": dt.datetime(2026, 5, 1, 10, 0, i * 7, i, tzinfo=UTC),
        "naive_at": dt.datetime(2026, 5, 1, 10, 0, i * 7, 0 if i == 4 else i),
        "on": i % 2 == 0,
    }
    for i in range(1, 8)
]


@pytest.fixture
def engine(db):
    """The suite's database (SQLite, or PostgreSQL with ROUTY_TEST_DATABASE_URL) with a scratch table."""
    engine = get_engine()
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(things.insert(), ROWS)
    yield engine
    metadata.drop_all(engine)


def _converted(query: PlainRows, conn, rows: list[tuple]) -> list[tuple]:
    names = list(query.statement.selected_columns.keys())
    processors = [query.result_processor(conn, name) or (lambda v: v) for name in names]
    return [tuple(process(value) for process, value in zip(processors, row, strict=False)) for row in rows]


def test_rows_and_binds_match_sqlalchemy(engine):
    # Datetime binds of both kinds (the naive one needs the dialect's own DateTime processor on SQLite:
    # the driver's default would write 10:00:28 for the stored 10:00:28.000000 of row 4 and miss it),
    # a repeated bind, a literal turned into an anonymous bind and a LIMIT bind.
    statement = (
        select(things.c.id, things.c.name, things.c.at, things.c.naive_at, things.c.on)
        .where(
            things.c.at > bindparam("after", type_=UTCDateTime()),
            things.c.naive_at <= bindparam("naive_until", type_=DateTime()),
            things.c.name != "n5",
            things.c.id != bindparam("skip"),
            things.c.id != bindparam("skip"),
        )
        .order_by(things.c.id)
        .limit(bindparam("limit"))
    )
    params = {"after": ROWS[0]["at"], "naive_until": ROWS[3]["naive_at"], "skip": 3, "limit": 10}
    query = PlainRows(statement)
    with engine.begin() as conn:
        expected = [tuple(row) for row in conn.execute(statement, params)]
        parts = list(query.fetch(conn, params, size=1))
    assert [row[0] for row in expected] == [2, 4]
    assert [len(part) for part in parts] == [1, 1]
    with engine.connect() as conn:
        assert _converted(query, conn, [row for part in parts for row in part]) == expected


def test_refuses_what_it_cannot_run(engine):
    expanding = PlainRows(select(things.c.id).where(things.c.id.in_(bindparam("ids", expanding=True))))
    with engine.begin() as conn, pytest.raises(ValueError, match="expanding"):
        list(expanding.fetch(conn, {"ids": [1, 2]}))
    plain = PlainRows(select(things.c.id))
    with engine.connect() as conn, pytest.raises(RuntimeError, match="transaction"):
        list(plain.fetch(conn, {}))


def test_each_driver_gets_its_own_compiled_statement():
    query = PlainRows(select(things.c.id).where(things.c.name == bindparam("name")))
    sqlite = create_engine("sqlite://")
    metadata.create_all(sqlite)
    with sqlite.begin() as conn:
        conn.execute(things.insert(), ROWS[:2])
        assert [row for part in query.fetch(conn, {"name": "n2"}) for row in part] == [(2,)]
    assert len(query._compiled) == 1
