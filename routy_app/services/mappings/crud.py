"""Mapping commands (add, change, enable or disable, delete; each audited) and the list the tab shows.

Adding or enabling a mapping queues the recent conversions of its event type that are still inside the
provider's window, so nothing that already arrived is left behind. Deleting: rows never sent go with
the mapping; a mapping that has sent conversions is kept (Push History must keep saying what reached
the provider), and the refusal says to disable it instead.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import and_, delete, func, update
from sqlmodel import Session, col, select

from routy_app.db import session_scope
from routy_app.models import Conversion, ConversionMapping, ConversionPush, Integration
from routy_app.providers import registry
from routy_app.services import leases
from routy_app.services.audit import SYSTEM, Actor, AuditAction, record_by
from routy_app.services.mappings.rules import (
    SKIPPED_DISABLED,
    MappingProblem,
    MappingView,
    integration_of,
    mapping_of,
    spec_of,
    validate_mapping,
    view_of,
)
from routy_app.services.push import outbox
from routy_app.timeutil import utcnow


def list_mappings(session: Session, integration_id: int) -> list[MappingView]:
    rows = session.exec(
        select(ConversionMapping)
        .where(ConversionMapping.integration_id == integration_id)
        .order_by(col(ConversionMapping.event_type), col(ConversionMapping.id))
    ).all()
    spec = spec_of(integration_of(session, integration_id).provider)
    return [view_of(m, spec) for m in rows]


def add_mapping(
    integration_id: int,
    event_type: str,
    action_id: str,
    action_name: str,
    extra: dict[str, Any] | None = None,
    enabled: bool = True,
    *,
    actor: Actor = SYSTEM,
) -> MappingView:
    """Create a mapping (audited) and, when enabled, queue recent conversions of its event type."""
    with session_scope() as session:
        return _add_mapping(session, integration_id, event_type, action_id, action_name, extra, enabled, actor)


def _add_mapping(
    session: Session,
    integration_id: int,
    event_type: str,
    action_id: str,
    action_name: str,
    extra: dict[str, Any] | None,
    enabled: bool,
    actor: Actor,
) -> MappingView:
    integration = integration_of(session, integration_id)
    action_id, extra = validate_mapping(integration.provider, event_type, action_id, extra or {})
    spec = spec_of(integration.provider)
    if spec is not None and spec.action is None:  # the mapping only picks event types: the target is the provider
        action_name = registry.display_name(integration.provider)
    duplicate = session.exec(
        select(ConversionMapping).where(
            ConversionMapping.integration_id == integration_id,
            ConversionMapping.event_type == event_type,
            ConversionMapping.action_id == action_id,
        )
    ).first()
    if duplicate is not None:
        raise MappingProblem(f"'{event_type}' is already mapped to {duplicate.action_name or action_id}.", "action_id")
    mapping = ConversionMapping(
        integration_id=integration_id,
        event_type=event_type,
        action_id=action_id,
        action_name=(action_name or action_id)[:300],
        extra_json=json.dumps(extra),
        enabled=enabled,
    )
    session.add(mapping)
    session.flush()
    if enabled:
        _queue_recent(session, integration, mapping)
    view = view_of(mapping, spec_of(integration.provider))
    record_by(
        session, actor, AuditAction.MAPPING_ADDED, integration_id=integration_id, detail=f"{event_type} → {view.label}"
    )
    session.commit()
    return view


def update_mapping(
    mapping_id: int,
    *,
    event_type: str | None = None,
    action_id: str | None = None,
    action_name: str | None = None,
    extra: dict[str, Any] | None = None,
    actor: Actor = SYSTEM,
) -> MappingView:
    """Change a mapping (audited); rows not yet sent follow it (they are built from the mapping at push time)."""
    with session_scope() as session:
        return _update_mapping(session, mapping_id, event_type, action_id, action_name, extra, actor)


def _update_mapping(
    session: Session,
    mapping_id: int,
    event_type: str | None,
    action_id: str | None,
    action_name: str | None,
    extra: dict[str, Any] | None,
    actor: Actor,
) -> MappingView:
    mapping = mapping_of(session, mapping_id)
    integration = integration_of(session, mapping.integration_id)
    new_type = mapping.event_type if event_type is None else event_type
    new_extra = json.loads(mapping.extra_json or "{}") if extra is None else extra
    new_action, new_extra = validate_mapping(
        integration.provider, new_type, mapping.action_id if action_id is None else action_id, new_extra
    )
    clash = session.exec(
        select(ConversionMapping).where(
            ConversionMapping.integration_id == mapping.integration_id,
            ConversionMapping.event_type == new_type,
            ConversionMapping.action_id == new_action,
            ConversionMapping.id != mapping_id,
        )
    ).first()
    if clash is not None:
        raise MappingProblem(f"'{new_type}' is already mapped to {clash.action_name or new_action}.", "action_id")
    type_changed = new_type != mapping.event_type
    if type_changed and _sent_count(session, mapping_id):
        raise MappingProblem(
            "This mapping has already sent conversions of its event type; add a new mapping "
            "for the other event type instead.",
            "event_type",
        )
    if type_changed and leases.is_running(mapping.integration_id, scope="push"):  # its rows may be in flight
        raise MappingProblem("A push of this integration is in progress; try again in a minute.", "event_type")
    if type_changed:  # unsent rows were for the old event type
        session.exec(
            delete(ConversionPush).where(
                col(ConversionPush.mapping_id) == mapping_id,
                col(ConversionPush.status).in_(["pending", "failed", "skipped"]),
            )
        )
    mapping.event_type, mapping.action_id, mapping.extra_json = new_type, new_action, json.dumps(new_extra)
    if action_name is not None or action_id is not None:
        mapping.action_name = (action_name or new_action)[:300]
    session.add(mapping)
    session.flush()
    if mapping.enabled and type_changed:
        _queue_recent(session, integration, mapping)
    view = view_of(mapping, spec_of(integration.provider))
    record_by(session, actor, AuditAction.MAPPING_CHANGED, integration_id=mapping.integration_id, detail=view.label)
    session.commit()
    return view


def set_enabled(mapping_id: int, enabled: bool, *, actor: Actor = SYSTEM) -> MappingView:
    """Disable: queued rows are skipped at push time ("mapping disabled"). Enable: recent ones queue again."""
    with session_scope() as session:
        return _set_enabled(session, mapping_id, enabled, actor)


def _set_enabled(session: Session, mapping_id: int, enabled: bool, actor: Actor) -> MappingView:
    mapping = mapping_of(session, mapping_id)
    integration = integration_of(session, mapping.integration_id)
    mapping.enabled = enabled
    session.add(mapping)
    session.flush()
    if enabled:
        horizon = _window_start(integration)
        skipped_ids = (
            select(ConversionPush.id)
            .join(Conversion, col(Conversion.id) == col(ConversionPush.conversion_id))
            .where(
                ConversionPush.mapping_id == mapping_id,
                ConversionPush.status == "skipped",
                ConversionPush.skip_reason == SKIPPED_DISABLED,
                Conversion.occurred_at >= horizon,
            )
        )
        session.exec(
            update(ConversionPush)
            .where(col(ConversionPush.id).in_(skipped_ids))
            .values(status="pending", skip_reason=None, next_attempt_at=utcnow())
        )
        _queue_recent(session, integration, mapping)
    view = view_of(mapping, spec_of(integration.provider))
    state = "enabled" if enabled else "disabled"
    record_by(
        session,
        actor,
        AuditAction.MAPPING_CHANGED,
        integration_id=mapping.integration_id,
        detail=f"{view.event_type} → {view.label} {state}",
    )
    session.commit()
    return view


def delete_mapping(mapping_id: int, *, actor: Actor = SYSTEM) -> None:
    """Delete a mapping and its unsent rows (audited); refused when it has sent conversions (disable it)."""
    with session_scope() as session:
        _delete_mapping(session, mapping_id, actor)


def _delete_mapping(session: Session, mapping_id: int, actor: Actor) -> None:
    mapping = mapping_of(session, mapping_id)
    sent = _sent_count(session, mapping_id)
    if sent:
        raise MappingProblem(
            f"This mapping has sent {sent:,} conversion{'s' if sent != 1 else ''}; Push History "
            "keeps them, so it cannot be deleted. Disable it to stop pushing."
        )
    if leases.is_running(mapping.integration_id, scope="push"):
        raise MappingProblem("A push of this mapping is in progress; try again in a minute.")
    session.exec(delete(ConversionPush).where(col(ConversionPush.mapping_id) == mapping_id))
    session.delete(mapping)
    detail = f"mapping {mapping_id}"
    record_by(session, actor, AuditAction.MAPPING_DELETED, integration_id=mapping.integration_id, detail=detail)
    session.commit()


def _sent_count(session: Session, mapping_id: int) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(ConversionPush)
            .where(ConversionPush.mapping_id == mapping_id, ConversionPush.status == "sent")
        ).one()
    )


def _window_start(integration: Integration) -> dt.datetime:
    return utcnow() - registry.get(integration.provider).push_window


def _queue_recent(session: Session, integration: Integration, mapping: ConversionMapping) -> int:
    """Queue this mapping's conversions that occurred inside the provider's window (idempotent)."""
    condition = and_(
        col(Conversion.event_type) == mapping.event_type,
        col(Conversion.occurred_at) >= _window_start(integration),
        col(ConversionMapping.id) == mapping.id,
    )
    return outbox._enqueue(session, condition)  # noqa: SLF001 - the outbox's own insert, narrowed to one mapping
