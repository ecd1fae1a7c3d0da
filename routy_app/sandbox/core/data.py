"""Deterministic fake ad data: the same seed and key always give the same numbers.

Nothing is stored: every metric is a pure function of (seed, entity key, date), so a benchmark can
ask for a million rows while the sandbox holds none of them in memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator


def rng(seed: int, *key: object) -> random.Random:
    """A private random stream for one key (stable across processes, unlike hash())."""
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def daily_metrics(
    seed: int, entity: str, day: dt.date, scale: float = 1.0, restated: int = 0
) -> dict[str, int | float]:
    """Plausible metrics for one entity on one day.

    impressions 200..5,000 x scale; CTR 1-8 %; CPC 0.10-2.50 (in micros); conversion rate 2-12 %
    of clicks (fractional, as Google reports); value 20-150 per conversion. `restated` changes the
    numbers the way providers restate recent days (a test bumps it to see values replaced).
    """
    r = rng(seed, entity, day.isoformat(), restated)
    impressions = int(r.randint(200, 5000) * scale)
    clicks = int(impressions * r.uniform(0.01, 0.08))
    cost_micros = int(clicks * r.uniform(0.10, 2.50) * 1_000_000) // 10_000 * 10_000
    conversions = round(clicks * r.uniform(0.02, 0.12), 2)
    conversions_value = round(conversions * r.uniform(20, 150), 2)
    return {
        "impressions": impressions,
        "clicks": clicks,
        "cost_micros": cost_micros,
        "conversions": conversions,
        "conversions_value": conversions_value,
    }


def entity_id(seed: int, *key: object, digits: int = 10) -> str:
    """A stable numeric id for an entity (campaign, ad group, ...), as a string like the APIs use."""
    value = rng(seed, "id", *key).randrange(10 ** (digits - 1), 10**digits)
    return str(value)


def date_range(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Every day from `start` to `end`, both included."""
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)
