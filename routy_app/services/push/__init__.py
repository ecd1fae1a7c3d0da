"""Conversions out: the outbox push engine and what surrounds it.

- `outbox`: queueing (one ConversionPush row per integration x conversion x mapping, at ingest).
- `engine`: one push run of an integration (`run_push`) under its push lease.
- `due` / `outcomes`: the hot path: reading due rows into batches, writing each event's outcome.
- `rules`: dedup key, backoff, the provider's window, the adapter's input.
- `verdicts`: asynchronous processing verdicts; `validation`: Validate push.
- `history` / `retry`: Push History, Retry and Retry all failed; `schedule`: the every-minute job.
- `tally`: what a run did, told truthfully.
"""

from __future__ import annotations

from routy_app.services.push.engine import LOCK_LOST, PushSummary, run_push
from routy_app.services.push.history import PushRow, push_history, retry_row
from routy_app.services.push.rules import backoff, dedup_key, outgoing
from routy_app.services.push.schedule import catch_up, push_due_all
from routy_app.services.push.validation import PushValidation, validate_push
from routy_app.services.push.verdicts import poll_verdicts

__all__ = [
    "LOCK_LOST",
    "PushRow",
    "PushSummary",
    "PushValidation",
    "backoff",
    "catch_up",
    "dedup_key",
    "outgoing",
    "poll_verdicts",
    "push_due_all",
    "push_history",
    "retry_row",
    "run_push",
    "validate_push",
]
