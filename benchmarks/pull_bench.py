"""Pull engine throughput vs a raw sqlite3.executemany ceiling, memory, and Metrics query latency.

    python -m benchmarks.pull_bench --rows 100000

What each figure includes:
- end_to_end_rows_per_s: the whole keyword-level run: the in-process sandbox computing and
  JSON-encoding every row, httpx (ASGI transport), the Google adapter parsing pages into
  MetricRecords, and the engine writing them (SyncRun bookkeeping included).
- engine_rows_per_s: the engine's DB write time only (MetricRecord pages -> tuples, upsert by
  natural key ON CONFLICT DO UPDATE, inserted/updated count, one commit per 10,000-row page).
- raw_rows_per_s: the ceiling: the very same rows (read back from the engine's table) inserted with
  plain sqlite3 executemany into an identical table (same columns, unique key and index, same
  pragmas), one commit per 10,000 rows. Reading them back is not timed.
- ratio = engine_rows_per_s / raw_rows_per_s.
- peak_rss_delta_mb: highest RSS sampled (every 20 ms) during the run minus RSS before it.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sqlite3
import tempfile
import time
from pathlib import Path

from benchmarks.common import RssSampler, connect_google, fresh_environment, sandbox_hub

PAGE = 10_000
AD_GROUPS, KEYWORDS, DAYS = 10, 10, 90  # keyword-day rows = campaigns x 100 x days (<= 90)


def _raw_ceiling(db_path: Path, raw_path: Path, integration_id: int) -> tuple[int, float]:
    """Insert the engine's keyword rows into an identical table with plain executemany; (rows, seconds)."""
    src = sqlite3.connect(db_path)
    dst = sqlite3.connect(raw_path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=OFF"):
        dst.execute(f"PRAGMA {pragma}")
    ddl = [
        sql for (sql,) in src.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'metricrow' AND sql IS NOT NULL")
    ]
    for sql in ddl:
        dst.execute(sql)  # foreign keys are off here: the integration table is not copied
    cols = (
        "integration_id, level, date, campaign_id, ad_group_id, ad_id, keyword_id, campaign_name, ad_group_name, "
        "ad_name, keyword_text, impressions, clicks, cost_micros, conversions_micros, conversion_value_micros, currency"
    )
    insert = f"INSERT INTO metricrow ({cols}) VALUES ({', '.join('?' * 17)})"
    cursor = src.execute(
        f"SELECT {cols} FROM metricrow WHERE integration_id = ? AND level = 'keyword' ORDER BY id", (integration_id,)
    )
    rows = seconds = 0
    while True:
        chunk = cursor.fetchmany(PAGE)
        if not chunk:
            break
        started = time.perf_counter()
        dst.execute("BEGIN")
        dst.executemany(insert, chunk)
        dst.execute("COMMIT")
        seconds += time.perf_counter() - started
        rows += len(chunk)
    src.close()
    dst.close()
    return rows, seconds


DRILLDOWN_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_metricrow_drilldown "
    "ON metricrow (integration_id, level, campaign_id, ad_group_id, date)"
)


def _query_latencies(integration_id: int, suffix: str = "") -> dict[str, float]:
    """Median of 5 runs of each Metrics tab query over the whole history, in ms."""
    import datetime as dt

    from sqlmodel import Session, select

    from routy_app.db import get_engine
    from routy_app.models import MetricRow
    from routy_app.services import metrics_queries as mq

    with Session(get_engine()) as s:
        end = s.exec(select(MetricRow.date).order_by(MetricRow.date.desc())).first() or dt.date.today()
        start = end - dt.timedelta(days=DAYS - 1)
        campaign, group = s.exec(
            select(MetricRow.campaign_id, MetricRow.ad_group_id).where(MetricRow.level == "keyword")
        ).first() or ("", "")
        calls = {
            "summary_ms": lambda: mq.summary(s, integration_id, start, end),
            "daily_series_ms": lambda: mq.daily_series(s, integration_id, start, end),
            "breakdown_campaign_ms": lambda: mq.breakdown(s, integration_id, "campaign", start, end),
            "breakdown_keyword_drilldown_ms": lambda: mq.breakdown(
                s, integration_id, "keyword", start, end, parent_filter={"campaign_id": campaign, "ad_group_id": group}
            ),
            "breakdown_all_keywords_ms": lambda: mq.breakdown(s, integration_id, "keyword", start, end),
        }
        out = {}
        for name, call in calls.items():
            times = []
            for _ in range(5):
                started = time.perf_counter()
                call()
                times.append((time.perf_counter() - started) * 1000)
            out[name.replace("_ms", suffix + "_ms")] = round(sorted(times)[2], 2)
        return out


async def bench(rows: int) -> dict:
    from routy_app.db import get_engine
    from routy_app.providers.retry import RetryPolicy
    from routy_app.sandbox.core.state import SandboxConfig, SandboxState
    from routy_app.services.pull import run_pull

    campaigns = max(1, math.ceil(rows / (AD_GROUPS * KEYWORDS * DAYS)))
    days = max(1, min(DAYS, round(rows / (campaigns * AD_GROUPS * KEYWORDS))))
    state = SandboxState(
        SandboxConfig(
            days=days,
            campaigns_per_account=campaigns,
            ad_groups_per_campaign=AD_GROUPS,
            ads_per_ad_group=1,
            keywords_per_ad_group=KEYWORDS,
        )
    )
    async with sandbox_hub(state, RetryPolicy(max_attempts=3, initial=0.1, cap=1.0)) as hub:
        integration_id = await connect_google(hub)
        # warm-up (imports, pools, statement caches) that also gives the summary / series queries data
        await run_pull(hub, integration_id, "full", levels=("campaign",))
        with RssSampler() as rss:
            started = time.perf_counter()
            summary = await run_pull(hub, integration_id, "manual", levels=("keyword",))
            elapsed = time.perf_counter() - started
        if summary.status != "success":
            raise SystemExit(f"pull failed: {summary.error}")
    db_path = Path(get_engine().url.database)
    raw_rows, raw_seconds = _raw_ceiling(db_path, db_path.with_name("raw.db"), integration_id)
    engine_rate = summary.read / summary.write_seconds
    raw_rate = raw_rows / raw_seconds
    result = {
        "bench": "pull",
        "rows": summary.read,
        "raw_rows": raw_rows,
        "engine_rows_per_s": round(engine_rate),
        "raw_rows_per_s": round(raw_rate),
        "ratio": round(engine_rate / raw_rate, 3),
        "end_to_end_rows_per_s": round(summary.read / elapsed),
        "end_to_end_s": round(elapsed, 2),
        "engine_write_s": round(summary.write_seconds, 2),
        "db_write_share_of_run": round(summary.write_seconds / elapsed, 3),
        "raw_write_s": round(raw_seconds, 2),
        "peak_rss_delta_mb": round(rss.peak_delta_mb, 1),
    }
    result.update(_query_latencies(integration_id))
    with get_engine().begin() as conn:  # the index proposed for drill-down (not in the schema yet)
        conn.exec_driver_sql(DRILLDOWN_INDEX)
        conn.exec_driver_sql("ANALYZE")
    result.update(_query_latencies(integration_id, "_with_drilldown_index"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="keyword-day rows to pull (about)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="routy-pull-bench-") as tmp:
        fresh_environment(Path(tmp))
        import logging

        logging.disable(logging.INFO)
        result = asyncio.run(bench(args.rows))
        from routy_app.db import reset_engine

        reset_engine()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
