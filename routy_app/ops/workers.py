"""How many backend workers Reflex will start, and the refusal to start several without Redis.

Reflex keeps each browser tab's UI state in a state manager. Without REDIS_URL it is this process's
memory: a second worker (or replica) would not have the state of a tab whose events it receives, and the
page would break at random. Reflex starts one worker unless GRANIAN_WORKERS says otherwise or Reflex's own
REFLEX_REDIS_URL is set (then one per core); with REDIS_URL (ours), several are fine. Checked by
`python -m routy_app migrate` / `check-config` (so `make run` stops with one line before Reflex starts)
and again when the app module is imported (a direct `reflex run`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from routy_app.config import ConfigError, Settings


def requested_workers(environ: Mapping[str, str] | None = None) -> int | None:
    """GRANIAN_WORKERS as a number (None when unset or not a number: Reflex's default applies)."""
    value = (environ if environ is not None else os.environ).get("GRANIAN_WORKERS", "").strip()
    return int(value) if value.isdigit() else None


def check_workers(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Raise ConfigError (one line saying why and what to do) when several workers would run without Redis."""
    env = environ if environ is not None else os.environ
    if settings.redis_url:
        return
    workers = requested_workers(env)
    if workers is not None and workers > 1:
        raise ConfigError(
            f"GRANIAN_WORKERS={workers} needs REDIS_URL: without Redis each worker keeps its own copy of the "
            "browsers' UI state, so an event reaching another worker finds none. Set REDIS_URL=redis://host:6379/0 "
            "to run several workers or replicas, or unset GRANIAN_WORKERS to run one."
        )
    if env.get("REFLEX_REDIS_URL", "").strip():
        raise ConfigError(
            "REFLEX_REDIS_URL is set but REDIS_URL is not: Reflex would start one worker per core while Routy keeps "
            "UI state in one process's memory. Set REDIS_URL (Routy's setting) instead of REFLEX_REDIS_URL."
        )
