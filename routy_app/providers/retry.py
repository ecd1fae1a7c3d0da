"""The one retry/backoff policy every adapter uses (tenacity underneath).

Retries TransientError and RateLimited. A provider's own hint (Google `retryDelay`, `Retry-After`,
Meta's estimated time to regain access) wins over exponential backoff with jitter; a hint longer
than `max_hint` is not waited out inside the run: the error is raised so the run records it and the
scheduler tries again later.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from routy_app.providers.errors import RateLimited, TransientError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    initial: float = 1.0  # seconds before the first retry
    cap: float = 60.0  # longest exponential wait
    max_hint: float = 120.0  # longest provider-requested wait we sit out inside one run
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


DEFAULT_POLICY = RetryPolicy()


def _retryable(policy: RetryPolicy) -> Callable[[BaseException], bool]:
    def check(exc: BaseException) -> bool:
        if isinstance(exc, RateLimited):
            return exc.retry_after is None or exc.retry_after <= policy.max_hint
        return isinstance(exc, TransientError)

    return check


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(initial=policy.initial, max=policy.cap)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after
        return backoff(state)

    return wait


async def with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy = DEFAULT_POLICY) -> T:
    """Run `call`, retrying transient failures per `policy`; the last error propagates unchanged."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(_retryable(policy)),
        wait=_wait(policy),
        stop=stop_after_attempt(policy.max_attempts),
        sleep=policy.sleep,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable")  # pragma: no cover


def parse_duration(value: str | None) -> float | None:
    """Seconds from a protobuf Duration ("30s", "1.5s") or an HTTP Retry-After number."""
    if not value:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*s?\s*", str(value))
    return float(match.group(1)) if match else None
