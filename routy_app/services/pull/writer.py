"""Writing pulled pages into MetricRow: upserts by natural key, one transaction per page, and Force Full
Sync's sweep of rows the provider no longer reports (mark and sweep by row id)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Date, TextClause, bindparam, literal_column, text

from routy_app.db import get_engine
from routy_app.models import MetricRow, table_of
from routy_app.providers.values import MetricRecord

KEY_COLUMNS = ("integration_id", "level", "date", "campaign_id", "ad_group_id", "ad_id", "keyword_id")
VALUE_COLUMNS = (
    "campaign_name",
    "ad_group_name",
    "ad_name",
    "keyword_text",
    "impressions",
    "clicks",
    "cost_micros",
    "conversions_micros",
    "conversion_value_micros",
    "currency",
)
COLUMNS = KEY_COLUMNS + VALUE_COLUMNS


def _dated(sql: str) -> TextClause:
    """A text() statement whose :s/:e parameters are dates (bound as each backend stores them)."""
    return text(sql).bindparams(bindparam("s", type_=Date), bindparam("e", type_=Date))


class Writer:
    """Upserts pages of MetricRecords; one transaction per page; counts inserted vs updated."""

    def __init__(self, integration_id: int, full: bool) -> None:
        self.integration_id = integration_id
        self.full = full
        self.engine = get_engine()
        self.dialect = self.engine.dialect.name
        self.seconds = 0.0
        cols = ", ".join(COLUMNS)
        if self.dialect == "sqlite":
            marks = ", ".join("?" for _ in COLUMNS)
            if full:  # a fresh rowid for every written row: the sweep's mark
                self.sql = f"INSERT OR REPLACE INTO metricrow ({cols}) VALUES ({marks})"
            else:
                sets = ", ".join(f"{c} = excluded.{c}" for c in VALUE_COLUMNS)
                self.sql = (
                    f"INSERT INTO metricrow ({cols}) VALUES ({marks}) "
                    f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET {sets}"
                )
        else:
            from sqlalchemy.dialects.postgresql import Insert
            from sqlalchemy.dialects.postgresql import insert as pg_insert
            from sqlalchemy.sql.dml import ReturningInsert

            stmt: Insert = pg_insert(table_of(MetricRow))
            set_: dict[str, Any] = {c: stmt.excluded[c] for c in VALUE_COLUMNS}
            if full:  # excluded.id is the sequence value drawn for the proposed row: a fresh id
                set_["id"] = stmt.excluded.id
            self.stmt: ReturningInsert[Any] = stmt.on_conflict_do_update(
                constraint="uq_metricrow_natural_key", set_=set_
            ).returning(literal_column("(xmax = 0)"))

    def _rows(self, records: Sequence[MetricRecord]) -> list[tuple[Any, ...]]:
        """Tuples in COLUMNS order, one per natural key (a repeated key in a page: last wins)."""
        iid = self.integration_id
        out: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for r in records:
            row = (
                iid,
                r.level,
                r.date.isoformat(),
                r.campaign_id or "",
                r.ad_group_id or "",
                r.ad_id or "",
                r.keyword_id or "",
                r.campaign_name or "",
                r.ad_group_name or "",
                r.ad_name or "",
                r.keyword_text or "",
                int(r.impressions),
                int(r.clicks),
                int(r.cost_micros),
                int(r.conversions_micros),
                int(r.conversion_value_micros),
                r.currency or "",
            )
            out[row[:7]] = row
        return list(out.values())

    def max_id(self, conn: Connection) -> int:
        return int(conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM metricrow").scalar() or 0)

    def max_id_now(self) -> int:
        """The highest row id before a full level starts: the sweep's mark."""
        with self.engine.connect() as conn:
            return self.max_id(conn)

    def write(self, records: Sequence[MetricRecord]) -> int:
        """Upsert one page in one transaction; returns how many rows were new (exact on an
        incremental run; on a full run the split is computed per level by `sweep`)."""
        started = time.perf_counter()
        rows = self._rows(records)
        with self.engine.begin() as conn:
            if self.dialect == "sqlite":
                before = None if self.full else self.max_id(conn)
                conn.exec_driver_sql(self.sql, rows)
                # new rows got ids above `before`; only this run writes this integration's rows (run lock),
                # so other integrations' concurrent pages cannot be counted as ours
                inserted = (
                    0
                    if before is None
                    else int(
                        conn.exec_driver_sql(
                            "SELECT COUNT(*) FROM metricrow WHERE id > ? AND integration_id = ?",
                            (before, self.integration_id),
                        ).scalar()
                        or 0
                    )
                )
            else:
                params = [
                    dict(zip(COLUMNS, (*row[:2], dt.date.fromisoformat(row[2]), *row[3:]), strict=True)) for row in rows
                ]
                flags = conn.execute(self.stmt, params).scalars().all() if params else []
                inserted = 0 if self.full else sum(1 for f in flags if f)
        self.seconds += time.perf_counter() - started
        return inserted

    def count_window(self, level: str, start: dt.date, end: dt.date, max_id: int | None = None) -> int:
        sql = (
            "SELECT COUNT(*) FROM metricrow WHERE integration_id = :i AND level = :l "
            "AND date >= :s AND date <= :e" + (" AND id <= :m" if max_id is not None else "")
        )
        params = {"i": self.integration_id, "l": level, "s": start, "e": end}
        if max_id is not None:
            params["m"] = max_id
        with self.engine.connect() as conn:
            return int(conn.execute(_dated(sql), params).scalar() or 0)

    def sweep(self, level: str, start: dt.date, end: dt.date, mark: int) -> int:
        """Delete the window's rows of `level` not rewritten by this full run (ids <= mark)."""
        started = time.perf_counter()
        with self.engine.begin() as conn:
            deleted = conn.execute(
                _dated(
                    "DELETE FROM metricrow WHERE integration_id = :i AND level = :l AND date >= :s AND date <= :e "
                    "AND id <= :m"
                ),
                {"i": self.integration_id, "l": level, "s": start, "e": end, "m": mark},
            ).rowcount
        self.seconds += time.perf_counter() - started
        return int(deleted or 0)
