"""The GA4 properties and web data streams the emulator owns, and its GA4 memory.

A stream pairs a Measurement Protocol measurement ID and API secret with the property the Data API reports
on. The demo stream is always there; tests and demos add more with `add_stream`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from routy_app.sandbox.core.state import SandboxState

DEMO_MEASUREMENT_ID = "G-ROUTY12345"
DEMO_API_SECRET = "sandbox-mp-secret"
DEMO_PROPERTY_ID = "123456789"

# ---------------------------------------------------------------- streams (what the sandbox "owns")


@dataclass
class Stream:
    """A GA4 web data stream with its Measurement Protocol secret and the property it belongs to."""

    measurement_id: str
    api_secret: str
    property_id: str
    currency: str = "USD"
    timezone: str = "America/New_York"


def memory(state: SandboxState) -> dict[str, Any]:
    """The GA4 part of the sandbox memory, seeded with the demo stream on first use."""
    with state.lock:
        part = state.extra.get("ga4")
        if part is None:
            demo = Stream(DEMO_MEASUREMENT_ID, DEMO_API_SECRET, DEMO_PROPERTY_ID)
            part = {"streams": {demo.measurement_id: demo}, "purchases": {}, "seen": set()}
            state.extra["ga4"] = part
        return part


def add_stream(state: SandboxState, stream: Stream) -> None:
    """Register another stream/property (tests and demos with several GA4 properties)."""
    memory(state)["streams"][stream.measurement_id] = stream


def stream_of_property(state: SandboxState, property_id: str) -> Stream | None:
    for stream in memory(state)["streams"].values():
        if stream.property_id == property_id:
            return stream
    return None
