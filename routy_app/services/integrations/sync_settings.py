"""The Sync tab's settings: direction, schedule, lookback and history window, validated."""

from __future__ import annotations

import json
from dataclasses import dataclass

from routy_app.db import session_scope
from routy_app.models import Direction, Integration
from routy_app.providers import registry
from routy_app.providers.definition import Capability
from routy_app.services import rescheduling
from routy_app.services.audit import SYSTEM, Actor, AuditAction, record_by
from routy_app.services.integrations.credentials import ConnectionProblem
from routy_app.timeutil import utcnow

# (minutes, label) — what the schedule picker offers.
SCHEDULES: tuple[tuple[int, str], ...] = (
    (15, "Every 15 minutes"),
    (60, "Every hour"),
    (360, "Every 6 hours"),
    (1440, "Once a day"),
)
DIRECTION_LABELS = {
    Direction.PULL: "Pull metrics",
    Direction.PUSH: "Push conversions",
    Direction.BIDIRECTIONAL: "Bidirectional (pull and push)",
}


@dataclass(frozen=True)
class SyncSettings:
    direction: str
    schedule_minutes: int
    lookback_days: int
    history_days: int


def allowed_directions(provider: str, can_pull: bool = True) -> list[str]:
    """Only what the provider (and, for GA4, its credentials) can do is offered."""
    definition = registry.get(provider)
    pull, push = definition.can(Capability.PULL) and can_pull, definition.can(Capability.PUSH)
    out = []
    if pull:
        out.append(Direction.PULL.value)
    if push:
        out.append(Direction.PUSH.value)
    if pull and push:
        out.append(Direction.BIDIRECTIONAL.value)
    return out


def validate(provider: str, values: dict[str, str], can_pull: bool = True) -> SyncSettings:
    """Parse the form; raise ConnectionProblem naming the field on bad input (changes nothing)."""
    direction = str(values.get("direction", ""))
    if direction not in allowed_directions(provider, can_pull):
        raise ConnectionProblem(
            f"Direction must be one of: {', '.join(allowed_directions(provider, can_pull))}.", field="direction"
        )
    numbers = {}
    for field, low, high, label in (
        ("schedule_minutes", 5, 10080, "Schedule"),
        ("lookback_days", 0, 90, "Lookback days"),
        ("history_days", 1, 1095, "History window"),
    ):
        raw = str(values.get(field, "")).strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ConnectionProblem(f"{label} must be a whole number from {low} to {high}.", field=field)
        numbers[field] = int(raw)
    if numbers["lookback_days"] > numbers["history_days"]:
        raise ConnectionProblem("Lookback days cannot exceed the history window.", field="lookback_days")
    return SyncSettings(direction=direction, **numbers)


def save(integration_id: int, values: dict[str, str], *, actor: Actor = SYSTEM) -> SyncSettings:
    """Validate and store (audited); the integration's pull job follows at once."""
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            raise ConnectionProblem("This integration no longer exists.")
        settings = validate(integration.provider, values, can_pull=_can_pull(integration))
        integration.direction = settings.direction
        integration.schedule_minutes = settings.schedule_minutes
        integration.lookback_days = settings.lookback_days
        integration.history_days = settings.history_days
        integration.updated_at = utcnow()
        session.add(integration)
        record_by(
            session,
            actor,
            AuditAction.SETTINGS_CHANGED,
            integration_id=integration_id,
            detail=f"direction {settings.direction}, every {settings.schedule_minutes} min, "
            f"lookback {settings.lookback_days} d, history {settings.history_days} d",
        )
        session.commit()
    rescheduling.reschedule(integration_id)
    return settings


def _can_pull(integration: Integration) -> bool:
    """Whether this integration's credentials can pull (GA4: with a property and a service account), as
    recorded at set-up in `settings_json["pull_enabled"]`; without the key, whatever the provider can."""
    recorded = json.loads(integration.settings_json or "{}").get("pull_enabled")
    return registry.get(integration.provider).can(Capability.PULL) if recorded is None else bool(recorded)


def current(integration_id: int) -> tuple[SyncSettings, list[str]]:
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            raise ConnectionProblem("This integration no longer exists.")
        return (
            SyncSettings(
                integration.direction, integration.schedule_minutes, integration.lookback_days, integration.history_days
            ),
            allowed_directions(integration.provider, _can_pull(integration)),
        )
