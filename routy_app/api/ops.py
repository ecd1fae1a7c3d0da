"""Routes for operators and load balancers: GET /readyz and GET /metrics.

/healthz (api/health.py) stays the cheap liveness answer. /readyz says whether this replica should get
traffic: the database answers, Redis answers when REDIS_URL is set (without it no replica can serve a
browser's events), with this process's scheduler role and the outbox lag as information. Neither route
needs a sign-in, so neither says more than that: a failed Redis check names the exception's type only
(the details, with host and port, go to the log), and no setting's value (URL, secret) appears. Lag never
makes a replica unready: every replica shares the one outbox, so taking them out would not help.
Both checks have a short timeout, so a balancer polling every few seconds costs little.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable

from sqlalchemy import func, select
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from routy_app.config import get_settings
from routy_app.db import ping, session_scope
from routy_app.models import ConversionPush
from routy_app.observability.metrics import metrics_endpoint
from routy_app.timeutil import utcnow

CHECK_TIMEOUT_SECONDS = 2.0
log = logging.getLogger("routy.ops")


def _outbox_lag() -> dict[str, float]:
    """Waiting rows, due rows and how long the oldest due one has been due (the partial index ix_push_due
    holds exactly the waiting rows, so this stays cheap however long the push history grows)."""
    now = utcnow()
    waiting = col(ConversionPush.next_attempt_at).is_not(None)
    with session_scope() as session:
        depth, oldest = session.execute(
            select(func.count(), func.min(col(ConversionPush.next_attempt_at))).where(waiting)
        ).one()
        due = session.execute(
            select(func.count()).where(waiting, col(ConversionPush.next_attempt_at) <= now)
        ).scalar_one()
    lag = 0.0
    if oldest is not None and due:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
        lag = max(0.0, (now - oldest).total_seconds())
    return {"waiting": int(depth), "due": int(due), "oldest_due_seconds": round(lag, 1)}


async def _redis_ok(url: str) -> bool | str:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS)
    try:
        pong: Awaitable[bool] = client.ping()  # type: ignore[assignment]  # redis types sync and async clients alike
        return bool(await asyncio.wait_for(pong, timeout=CHECK_TIMEOUT_SECONDS))
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", said in one line
        # The answer is public (no sign-in): only the kind of failure. Its text names the host and port
        # (and a driver may quote more of the URL), so it goes to the server's log only.
        log.warning("readyz: Redis does not answer: %s: %s", type(exc).__name__, exc)
        return type(exc).__name__
    finally:
        await client.aclose()


def _scheduler_role() -> str:
    from routy_app.services.scheduler import current_scheduler

    if not get_settings().scheduler_enabled:
        return "disabled"
    return "leader" if current_scheduler() is not None else "follower"


async def readyz(_request: Request) -> JSONResponse:
    settings = get_settings()
    checks: dict[str, object] = {}
    try:
        checks["db"] = await asyncio.wait_for(run_in_threadpool(ping), timeout=CHECK_TIMEOUT_SECONDS * 2)
    except TimeoutError:
        checks["db"] = False
    if settings.redis_url:
        redis = await _redis_ok(settings.redis_url)
        checks["redis"] = redis is True
        if redis is not True:
            checks["redis_error"] = redis
    body: dict[str, object] = {
        "ready": all(v for k, v in checks.items() if not k.endswith("_error")),
        **checks,
        "scheduler": _scheduler_role(),
    }
    if checks["db"]:
        try:
            body["outbox"] = await run_in_threadpool(_outbox_lag)
        except Exception:  # noqa: BLE001 - information only; readiness is the checks above
            body["outbox"] = None
    return JSONResponse(body, status_code=200 if body["ready"] else 503)


def routes() -> list[Route]:
    return [Route("/readyz", readyz, methods=["GET"]), Route("/metrics", metrics_endpoint, methods=["GET"])]
