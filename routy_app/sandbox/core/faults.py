"""Fault injection: make the next N calls of an operation fail with a named condition.

Operations are dotted names owned by each emulated API (e.g. "google_ads.search",
"google.token", "datamanager.ingest", "meta.insights", "meta.events", "ga4.run_report");
"*" matches every operation. Each API module turns a condition into its provider's real error.
One condition is not an error: "answer_lost" on "datamanager.ingest" ingests the request and then
holds the answer back for `seconds` (default 60) or until the caller hangs up, as a timeout or a
caller that died mid-request looks to Google.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    operation: str
    condition: str
    remaining: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    # Set by an API module once a condition that is not an immediate error has taken hold (answer_lost:
    # the request is ingested and its answer held back), so a caller can wait for exactly that moment.
    in_effect: threading.Event = field(default_factory=threading.Event)

    def describe(self) -> dict[str, Any]:
        """The fault as the control API shows it."""
        return {
            "operation": self.operation,
            "condition": self.condition,
            "remaining": self.remaining,
            "params": dict(self.params),
        }


class FaultRegistry:
    """Thread-safe queue of pending faults, consumed one call at a time."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, operation: str, condition: str, times: int = 1, **params: Any) -> Fault:
        fault = Fault(operation, condition, max(1, int(times)), dict(params))
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, operation: str) -> Fault | None:
        """The first pending fault for `operation` (or "*"), consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.operation in (operation, "*"):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
