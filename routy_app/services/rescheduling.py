"""After a change is committed, the integration's pull job must follow it (schedule, direction, pause,
resume, a new account, a disconnect). Commands call `reschedule(integration_id)`; the scheduler of this
process registers itself here when it starts leading. Other instances' leaders pick the change up at their
next poll of changes (ROUTY_CHANGE_POLL_SECONDS), so nothing is lost when this process does not lead.

A module of its own so that commands do not import the scheduler (which imports the engines they serve).
"""

from __future__ import annotations

from typing import Protocol


class Reschedules(Protocol):
    def reschedule(self, integration_id: int) -> bool: ...


_leader: Reschedules | None = None


def attach(leader: Reschedules | None) -> None:
    """The running scheduler of this process, or None when it stops leading."""
    global _leader
    _leader = leader


def reschedule(integration_id: int) -> None:
    if _leader is not None:
        _leader.reschedule(integration_id)
