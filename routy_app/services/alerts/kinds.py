"""What Routy can alert on, with each kind's thresholds and their defaults and bounds.

Every kind is per traffic source and on by default; a source's `AlertRule` rows override the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    """One threshold: an integer with bounds, shown as "<label> [value] <unit>"."""

    name: str
    label: str
    default: int
    minimum: int
    maximum: int
    unit: str


@dataclass(frozen=True)
class AlertKind:
    key: str
    label: str
    description: str
    params: tuple[Param, ...] = ()

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def defaults(self) -> dict[str, int]:
        return {p.name: p.default for p in self.params}


INTEGRATION_ERROR = "integration_error"
PUSH_REJECTIONS = "push_rejections"
OUTBOX_LAG = "outbox_lag"
ACCESS_EXPIRING = "access_expiring"
API_SUNSET = "api_sunset"
SYNC_STALE = "sync_stale"

# The share of rejections is judged only over at least this many pushed events in the hour, so one
# rejected event of two is not "50 % rejected".
PUSH_REJECTIONS_MIN_EVENTS = 20

KINDS: tuple[AlertKind, ...] = (
    AlertKind(
        INTEGRATION_ERROR,
        "Integration needs attention or reconnection",
        "An integration turns Needs attention (three failed syncs in a row) or Reconnection Required "
        "(the provider refused Routy's authorisation).",
    ),
    AlertKind(
        PUSH_REJECTIONS,
        "Conversions rejected",
        f"In the last hour, the provider rejected more than this share of pushed conversions (judged from "
        f"{PUSH_REJECTIONS_MIN_EVENTS} events) or more than this number.",
        (
            Param("percent", "More than", 5, 1, 100, "% of pushed"),
            Param("count", "or more than", 50, 1, 1_000_000, "events"),
        ),
    ),
    AlertKind(
        OUTBOX_LAG,
        "Conversions waiting to be pushed",
        "The oldest conversion due for a push has waited longer than this (paused integrations excepted).",
        (Param("minutes", "Waiting longer than", 30, 5, 10_080, "minutes"),),
    ),
    AlertKind(
        ACCESS_EXPIRING,
        "Access expiring",
        "Routy's access ends within this many days unless someone reconnects: a Meta token's expiry, or "
        'a Google consent given to an OAuth app in "Testing" (7 days).',
        (Param("days", "Within", 7, 1, 60, "days"),),
    ),
    AlertKind(
        API_SUNSET,
        "API version sunsetting",
        "The provider API version Routy is configured to use is switched off within this many days.",
        (Param("days", "Within", 30, 1, 365, "days"),),
    ),
    AlertKind(
        SYNC_STALE,
        "Sync overdue",
        "Metrics have not been pulled successfully for this many times the sync schedule.",
        (Param("factor", "For", 2, 2, 48, "× the schedule"),),
    ),
)

BY_KEY: dict[str, AlertKind] = {kind.key: kind for kind in KINDS}


def get(key: str) -> AlertKind:
    return BY_KEY[key]
