"""When to try an outbound request again: exponential backoff with jitter, and the receiver's hint."""

from __future__ import annotations

import random
from collections.abc import Callable


def delay(
    attempt: int,
    *,
    first: float = 60.0,
    cap: float = 3600.0,
    retry_after: float | None = None,
    jitter: float = 0.2,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 = the first failure).

    `first` doubles per attempt up to `cap`, spread by +-`jitter` so many failed rows do not retry in
    step; a receiver's Retry-After wins when it is longer (still capped: a hint of a day is not waited).
    """
    base = min(cap, first * 2 ** max(0, attempt - 1))
    wait = base * uniform(1 - jitter, 1 + jitter)
    if retry_after is not None and retry_after > wait:
        wait = retry_after
    return max(0.0, min(wait, cap))
