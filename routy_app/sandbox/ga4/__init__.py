"""GA4 emulator: the Measurement Protocol host and the Data API host.

Why: Routy pushes conversions with the Measurement Protocol and pulls sessions and revenue with the Data
API. streams.py holds the properties the emulator owns; measurement_protocol.py and mp_validation.py the
push side; data_api.py the report side; errors.py the Google error bodies and injected faults.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from routy_app.sandbox.core.state import SandboxState
from routy_app.sandbox.ga4 import data_api, measurement_protocol


def routes(state: SandboxState) -> list[BaseRoute]:
    """The Measurement Protocol host under /ga and the Data API host under /analyticsdata."""
    return [
        Mount("/ga", routes=measurement_protocol.routes(state)),
        Mount("/analyticsdata", routes=data_api.routes(state)),
    ]
