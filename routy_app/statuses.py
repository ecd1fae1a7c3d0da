"""The statuses of runs and of queued conversions, as the database stores them.

StrEnums: a member equals its stored text ("success" == RunStatus.SUCCESS), so rows written before this
module existed read the same, and tests may compare with plain strings.
"""

from __future__ import annotations

from enum import StrEnum


class RunKind(StrEnum):
    PULL = "pull"
    PUSH = "push"


class RunTrigger(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    FULL = "full"  # Force Full Sync: the whole history window, rows the provider stopped reporting removed
    RESUME = "resume"  # Resume sends what waited while paused
    TEST = "test"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process died; closed by whoever reclaimed the lease (services/leases.py)
    IDLE = "idle"  # nothing to do (a push with an empty queue): no run row is written


class PushRowStatus(StrEnum):
    """A queued conversion (ConversionPush row)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
