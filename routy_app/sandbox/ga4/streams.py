"""The GA4 properties and web data streams the emulator owns, and its GA4 memory.

A stream pairs a Measurement Protocol measurement ID and API secret with the property the Data API reports
on. The demo stream is always there; tests and demos add more with `add_stream`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from routy_app.sandbox.core.state import SandboxState

DEMO_MEASUREMENT_ID = "G-ROUTY12345"
DEMO_API_SECRET = "sandbox-mp-secret"
DEMO_PROPERTY_ID = "123456789"


@dataclass
class Stream:
    """A GA4 web data stream with its Measurement Protocol secret and the property it belongs to."""

    measurement_id: str
    api_secret: str
    property_id: str
    currency: str = "USD"
    timezone: str = "America/New_York"


def _demo_streams() -> dict[str, Stream]:
    return {DEMO_MEASUREMENT_ID: Stream(DEMO_MEASUREMENT_ID, DEMO_API_SECRET, DEMO_PROPERTY_ID)}


@dataclass
class Ga4Memory:
    """What the GA4 hosts remember: streams by measurement ID (the demo one first), and what was counted."""

    streams: dict[str, Stream] = field(default_factory=_demo_streams)
    # (measurement ID, transaction_id) -> the one purchase GA4 keeps for it
    purchases: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    seen: set[tuple[str, str, str]] = field(default_factory=set)  # (measurement ID, event name, transaction_id)


def memory(state: SandboxState) -> Ga4Memory:
    return state.part(Ga4Memory)


def add_stream(state: SandboxState, stream: Stream) -> None:
    """Register another stream/property (tests and demos with several GA4 properties)."""
    memory(state).streams[stream.measurement_id] = stream


def stream_of_property(state: SandboxState, property_id: str) -> Stream | None:
    """The stream of a property the emulator owns (the Data API is asked by property, not by stream)."""
    for stream in memory(state).streams.values():
        if stream.property_id == property_id:
            return stream
    return None
