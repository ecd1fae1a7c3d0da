"""Metrics in: the pull engine (`engine.run_pull`), its writer (upserts, the full sync's sweep), its window
(which days, whether it may pull now) and its clock (when the next scheduled pull is due)."""

from __future__ import annotations

from routy_app.services.pull.engine import RunSummary, run_pull
from routy_app.services.pull.window import PULL_DIRECTIONS, PULL_STATUSES, can_pull, pull_window, today_in

__all__ = [
    "PULL_DIRECTIONS",
    "PULL_STATUSES",
    "RunSummary",
    "can_pull",
    "pull_window",
    "run_pull",
    "today_in",
]
