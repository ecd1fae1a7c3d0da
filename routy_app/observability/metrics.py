"""Prometheus metrics: GET /metrics (bearer token ROUTY_METRICS_TOKEN), in Prometheus text format.

Two kinds, on purpose:

- **Shared state is read from the database at scrape time** (`DatabaseCollector`): runs by provider,
  kind and outcome, rows pulled, conversions ingested, pushes by outcome, outbox depth and the age of
  the oldest due row, last successful sync per integration, the scheduler lease. Every replica answers
  the same figures, whichever one Prometheus scrapes, and a restart resets nothing; no counters are
  kept in the engines. Counters are counts of rows, so deleting old runs lowers them (Prometheus reads
  that as a reset, which `rate()` handles).
- **Per-process figures are live**: HTTP request latency (an ASGI wrapper, `HttpTiming`), open event
  sockets, whether this process leads the scheduler, and the process's CPU and memory. With several
  workers in one replica, set PROMETHEUS_MULTIPROC_DIR to an empty folder per replica and every worker's
  figures are summed into each answer (prometheus-client's multiprocess mode).

The database part is cached for a few seconds per process, so several scrapers cost one set of queries.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import threading
import time
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.models import Conversion, ConversionPush, Integration, Lease, SyncRun
from routy_app.timeutil import utcnow

CACHE_SECONDS = 5.0
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# ---------------------------------------------------------------- live, per process

HTTP_LATENCY = Histogram(
    "routy_http_request_duration_seconds",
    "HTTP request latency, from the request's start to its last byte.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=None,
)
OPEN_SOCKETS = Gauge(
    "routy_event_sockets_open",
    "Browser event sockets (WebSocket) open on this replica.",
    registry=None,
    multiprocess_mode="livesum",
)

# Our routes and Reflex's, by path prefix: a bounded set of `route` label values.
_ROUTES = (
    ("/api/v1/conversions", "/api/v1/conversions"),
    ("/postback", "/postback"),
    ("/oauth/", "/oauth/{provider}/callback"),
    ("/api/metrics/", "/api/metrics/{id}/export.csv"),
    ("/auth/", "/auth/*"),
    ("/sandbox/", "/sandbox/*"),
    ("/healthz", "/healthz"),
    ("/readyz", "/readyz"),
    ("/metrics", "/metrics"),
    ("/_event", "/_event"),
    ("/_upload", "/_upload"),
    ("/ping", "/ping"),
)


def route_of(path: str) -> str:
    """The `route` label for a request path: our route's template, else "static" (a file) or "page"."""
    for prefix, name in _ROUTES:
        if path.startswith(prefix) if prefix.endswith("/") else path == prefix or path.startswith(prefix + "/"):
            return name
    return "static" if "." in path.rsplit("/", 1)[-1] else "page"


class HttpTiming:
    """ASGI wrapper around the whole backend (pages, files, our routes) timing each HTTP request;
    counts open WebSockets instead of timing them (their lifetime is not a latency)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            OPEN_SOCKETS.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                OPEN_SOCKETS.dec()
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, done = 500, False

        async def timed_send(message: Message) -> None:
            nonlocal status, done
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False) and not done:
                done = True
                _observe(scope, status, started)

        try:
            await self.app(scope, receive, timed_send)
        except BaseException:
            if not done:  # no answer went out (an error page that did is already counted)
                done = True
                _observe(scope, 500, started)
            raise


def _observe(scope: Scope, status: int, started: float) -> None:
    HTTP_LATENCY.labels(scope.get("method", "GET"), route_of(scope.get("path", "/")), f"{status // 100}xx").observe(
        time.perf_counter() - started
    )


# ---------------------------------------------------------------- shared state, from the database


class DatabaseCollector(Collector):
    """Figures that describe the deployment as a whole, read from the database when scraped."""

    def __init__(self, cache_seconds: float = CACHE_SECONDS) -> None:
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > self.cache_seconds:
                self._cached = (time.monotonic(), list(self._read()))
            metrics = self._cached[1]
        yield from metrics
        yield from _process_role()

    def _read(self) -> Iterable[Metric]:
        now = utcnow()
        with session_scope() as session:
            runs = session.execute(
                select(
                    col(Integration.provider),
                    col(SyncRun.kind),
                    col(SyncRun.status),
                    func.count(),
                    func.sum(col(SyncRun.records_read)),
                )
                .join(Integration, col(Integration.id) == col(SyncRun.integration_id))
                .group_by(col(Integration.provider), col(SyncRun.kind), col(SyncRun.status))
            ).all()
            ingested = session.execute(
                select(col(Conversion.traffic_source_id), func.count()).group_by(col(Conversion.traffic_source_id))
            ).all()
            waiting = col(ConversionPush.next_attempt_at).is_not(None)
            outcome = case((waiting, "waiting"), else_=col(ConversionPush.status))
            pushes = session.execute(
                select(col(Integration.provider), outcome, func.count())
                .join(Integration, col(Integration.id) == col(ConversionPush.integration_id))
                .group_by(col(Integration.provider), outcome)
            ).all()
            due = col(ConversionPush.next_attempt_at) <= now
            outbox = session.execute(
                select(
                    col(Integration.provider),
                    func.count(),
                    func.sum(case((due, 1), else_=0)),
                    func.min(case((due, col(ConversionPush.next_attempt_at)), else_=None)),
                )
                .join(Integration, col(Integration.id) == col(ConversionPush.integration_id))
                .where(waiting)
                .group_by(col(Integration.provider))
            ).all()
            integrations = session.execute(
                select(
                    col(Integration.id),
                    col(Integration.provider),
                    col(Integration.traffic_source_id),
                    col(Integration.status),
                    col(Integration.last_success_at),
                    col(Integration.consecutive_failures),
                )
            ).all()
            lease = session.get(Lease, "scheduler")
            lease_left = (lease.expires_at - now).total_seconds() if lease is not None else None

        runs_total = CounterMetricFamily(
            "routy_sync_runs",
            "Finished sync runs by provider, kind (pull, push, test) and outcome (success, partial, failed, ...).",
            labels=["provider", "kind", "outcome"],
        )
        running = GaugeMetricFamily("routy_sync_runs_running", "Sync runs in progress.", labels=["provider", "kind"])
        rows = CounterMetricFamily(
            "routy_pull_rows", "Metric rows read from providers by pull runs.", labels=["provider"]
        )
        rows_by_provider: dict[str, int] = {}
        for provider, kind, status, count, read in runs:
            if status == "running":
                running.add_metric([provider, kind], count)
            else:
                runs_total.add_metric([provider, kind, status], count)
            if kind == "pull":
                rows_by_provider[provider] = rows_by_provider.get(provider, 0) + int(read or 0)
        for provider, read in sorted(rows_by_provider.items()):
            rows.add_metric([provider], read)
        yield from (runs_total, running, rows)

        conversions = CounterMetricFamily(
            "routy_conversions_ingested",
            "Conversions accepted by the ingest API and postback (duplicates not counted).",
            labels=["traffic_source_id"],
        )
        for source_id, count in ingested:
            conversions.add_metric([str(source_id)], count)
        yield conversions

        pushed = CounterMetricFamily(
            "routy_conversions_pushed",
            "Conversions per mapping by push outcome: sent, "
            "skipped, failed (given up); rows still waiting are routy_outbox_depth.",
            labels=["provider", "outcome"],
        )
        for provider, state, count in pushes:
            if state != "waiting":
                pushed.add_metric([provider, state], count)
        yield pushed

        depth = GaugeMetricFamily(
            "routy_outbox_depth", "Conversions waiting to be pushed (new or retrying).", labels=["provider"]
        )
        due_now = GaugeMetricFamily(
            "routy_outbox_due", "Waiting conversions whose push is due now.", labels=["provider"]
        )
        oldest = GaugeMetricFamily(
            "routy_outbox_oldest_due_age_seconds",
            "How long the oldest due conversion has been due (0 when none is): grows when pushing has stopped.",
            labels=["provider"],
        )
        for provider, count, due_count, oldest_due in outbox:
            depth.add_metric([provider], count)
            due_now.add_metric([provider], int(due_count or 0))
            oldest.add_metric([provider], max(0.0, (now - _aware(oldest_due)).total_seconds()) if oldest_due else 0.0)
        yield from (depth, due_now, oldest)

        last = GaugeMetricFamily(
            "routy_integration_last_success_timestamp_seconds",
            "When the integration last synced successfully (Unix time).",
            labels=["integration_id", "provider", "traffic_source_id", "status"],
        )
        failures = GaugeMetricFamily(
            "routy_integration_consecutive_failures",
            "Failed runs in a row.",
            labels=["integration_id", "provider", "traffic_source_id", "status"],
        )
        for integration_id, provider, source_id, status, last_success, failed in integrations:
            labels = [str(integration_id), provider, str(source_id), status]
            if last_success is not None:
                last.add_metric(labels, _aware(last_success).timestamp())
            failures.add_metric(labels, failed or 0)
        yield from (last, failures)

        if lease_left is not None:
            yield GaugeMetricFamily(
                "routy_scheduler_lease_seconds_left",
                "Seconds until the scheduler leader's "
                "lease expires (multi-host leader election); negative: no leader renews it.",
                value=lease_left,
            )


def _process_role() -> Iterable[Metric]:
    """Whether this process leads the scheduler (live: read when scraped)."""
    from routy_app.services.scheduler import current_scheduler

    yield GaugeMetricFamily(
        "routy_scheduler_leader",
        "1 when this process runs the scheduler (pull and push jobs).",
        value=1 if current_scheduler() is not None else 0,
    )


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive UTC datetimes from an aggregate (min) that skips the column type."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def build_registry() -> CollectorRegistry:
    """What /metrics answers: the database figures, this process's role, and the live figures (of every
    worker of this replica in multiprocess mode)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import ProcessCollector

        registry.register(HTTP_LATENCY)
        registry.register(OPEN_SOCKETS)
        ProcessCollector(registry=registry)
    return registry


_registry: CollectorRegistry | None = None


def registry() -> CollectorRegistry:
    global _registry
    if _registry is None:
        _registry = build_registry()
    return _registry


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics: Prometheus text format, for `Authorization: Bearer <ROUTY_METRICS_TOKEN>` only."""
    expected = get_settings().metrics_token
    if not expected:
        return JSONResponse(
            {"error": "Metrics are off: set ROUTY_METRICS_TOKEN and scrape with that bearer token."}, status_code=404
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return JSONResponse(
            {"error": "Send the metrics token as 'Authorization: Bearer <ROUTY_METRICS_TOKEN>'."},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="routy-metrics"'},
        )
    body = await run_in_threadpool(generate_latest, registry())
    return Response(body, media_type=CONTENT_TYPE_LATEST)
