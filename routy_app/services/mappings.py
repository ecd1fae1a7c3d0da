"""Conversion Mappings: which Routy event types are pushed to which provider action.

A mapping is (integration, Routy event type) -> provider action: a Google UPLOAD_CLICKS conversion
action id with the Data Manager eventSource (where the conversions happen, in `extra`), a Meta pixel
id + standard event name (in `extra`), or a GA4 event name. Only enabled mappings are pushed. A new
Google mapping is checked live against Google's destination rules (`save_mapping`): the action must
exist, be enabled, be UPLOAD_CLICKS and belong to the integration's own customer. Adding or enabling
a mapping queues the recent conversions of its event type
that are still inside the provider's window, so nothing that already arrived is left behind.

Deleting: rows never sent (pending, failed, skipped) go with the mapping. A mapping that has sent
conversions is not deleted, because Push History must keep saying what reached the provider; the
error says to disable it instead (disconnecting the integration removes everything).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, update
from sqlmodel import Session, select

from routy_app.db import session_scope
from routy_app.models import Conversion, ConversionMapping, ConversionPush, Integration
from routy_app.providers import registry
from routy_app.providers.definition import MappingSpec
from routy_app.providers.errors import AuthExpired, ProviderError, SetupFieldError
from routy_app.providers.protocols import ActionCatalog, ActionCheck, ability
from routy_app.providers.values import ConversionAction
from routy_app.services import integrations, leases
from routy_app.services.hub import ProviderHub
from routy_app.services.push import outbox
from routy_app.timeutil import utcnow

EVENT_TYPE_RE = re.compile(r"[a-z0-9_]{1,64}")
SKIPPED_DISABLED = "mapping disabled"


class MappingProblem(Exception):
    """A user-facing refusal; `message` is shown as is, `field` names the form field when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class MappingView:
    """A mapping as the Conversion Mappings table shows it."""

    id: int
    event_type: str
    action_id: str
    action_name: str
    extra: dict[str, Any]
    enabled: bool
    label: str  # e.g. "Purchase on pixel 'Shop Pixel'"


def _view(m: ConversionMapping, spec: MappingSpec | None) -> MappingView:
    extra = json.loads(m.extra_json or "{}")
    name = m.action_name or m.action_id
    label = spec.label(name, extra) if spec is not None else name
    return MappingView(int(m.id), m.event_type, m.action_id, m.action_name, extra, m.enabled, label)


def _spec(provider_key: str) -> MappingSpec | None:
    definition = registry.find(provider_key)
    return definition.mapping if definition else None


def _integration(session: Session, integration_id: int) -> Integration:
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise MappingProblem("This integration no longer exists (it may have been disconnected).")
    return integration


def _mapping(session: Session, mapping_id: int) -> ConversionMapping:
    mapping = session.get(ConversionMapping, mapping_id)
    if mapping is None:
        raise MappingProblem("This mapping no longer exists.")
    return mapping


# ---------------------------------------------------------------- validation


def validate_mapping(provider: str, event_type: str, action_id: str, extra: dict[str, Any]) -> tuple[str, dict]:
    """The normalised action id and extra (the provider's own rules), or MappingProblem naming the field."""
    if not isinstance(event_type, str) or not EVENT_TYPE_RE.fullmatch(event_type):
        raise MappingProblem(
            "The Routy event type must be 1-64 lowercase letters, digits or underscores (e.g. lead, sale).",
            "event_type",
        )
    spec = _spec(provider)
    if spec is None:
        raise MappingProblem(f"{registry.display_name(provider)} does not receive conversions.")
    try:
        return spec.validate(action_id or "", {k: v for k, v in (extra or {}).items() if v is not None}, None)
    except SetupFieldError as exc:
        raise MappingProblem(exc.message, exc.field) from None


# ---------------------------------------------------------------- CRUD


async def save_mapping(
    hub: ProviderHub,
    integration_id: int,
    event_type: str,
    action_id: str,
    action_name: str,
    extra: dict[str, Any] | None = None,
) -> MappingView:
    """add_mapping after the provider's own destination rules, read live (what the Mappings form calls).

    Google: the conversion action is looked up by id in the integration's account, whatever its type,
    so a stale list or a typed id cannot slip through: it must exist, be enabled, be UPLOAD_CLICKS and
    be owned by the account Routy pushes as (the operating account). The refusal says why.
    """
    with session_scope() as session:
        provider_key = _integration(session, integration_id).provider
    definition = registry.get(provider_key)
    if definition.mapping is not None and definition.mapping.live_actions:
        action = await _checked_action(hub, integration_id, provider_key, action_id, extra or {})
        if action is not None:
            action_name = action.name or action_name
    with session_scope() as session:
        return add_mapping(session, integration_id, event_type, action_id, action_name, extra)


async def _checked_action(
    hub: ProviderHub, integration_id: int, provider_key: str, action_id: str, extra: dict[str, Any]
) -> ConversionAction | None:
    """The provider's live check of a new mapping's action (only providers that have one, e.g. Google)."""
    try:
        action_id, _ = validate_mapping(provider_key, "check", action_id, extra)
        async with integrations.provider_session(hub, integration_id) as (provider, creds, account):
            if not isinstance(provider, ActionCheck):
                return None
            return await provider.check_action(creds, account, action_id)
    except SetupFieldError as exc:
        raise MappingProblem(exc.message, exc.field) from None
    except AuthExpired as exc:
        name = registry.display_name(provider_key)
        raise MappingProblem(f"{name} refused the authorisation ({exc.message}); reconnect first.") from None
    except ProviderError as exc:
        raise MappingProblem(f"Could not check the conversion action: {integrations.describe_error(exc)}") from None
    except integrations.ConnectionProblem as exc:
        raise MappingProblem(exc.message) from None


def list_mappings(session: Session, integration_id: int) -> list[MappingView]:
    rows = session.exec(
        select(ConversionMapping)
        .where(ConversionMapping.integration_id == integration_id)
        .order_by(ConversionMapping.event_type, ConversionMapping.id)
    ).all()
    spec = _spec(_integration(session, integration_id).provider)
    return [_view(m, spec) for m in rows]


def add_mapping(
    session: Session,
    integration_id: int,
    event_type: str,
    action_id: str,
    action_name: str,
    extra: dict[str, Any] | None = None,
    enabled: bool = True,
) -> MappingView:
    """Create a mapping (committed) and, when enabled, queue recent conversions of its event type."""
    integration = _integration(session, integration_id)
    action_id, extra = validate_mapping(integration.provider, event_type, action_id, extra or {})
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
    session.commit()
    return _view(mapping, _spec(integration.provider))


def update_mapping(
    session: Session,
    mapping_id: int,
    *,
    event_type: str | None = None,
    action_id: str | None = None,
    action_name: str | None = None,
    extra: dict[str, Any] | None = None,
) -> MappingView:
    """Change a mapping; rows not yet sent follow it (they are built from the mapping at push time)."""
    mapping = _mapping(session, mapping_id)
    integration = _integration(session, mapping.integration_id)
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
                ConversionPush.mapping_id == mapping_id,  # type: ignore[arg-type]
                ConversionPush.status.in_(["pending", "failed", "skipped"]),
            )
        )
    mapping.event_type, mapping.action_id, mapping.extra_json = new_type, new_action, json.dumps(new_extra)
    if action_name is not None or action_id is not None:
        mapping.action_name = (action_name or new_action)[:300]
    session.add(mapping)
    session.flush()
    if mapping.enabled and type_changed:
        _queue_recent(session, integration, mapping)
    session.commit()
    return _view(mapping, _spec(integration.provider))


def set_enabled(session: Session, mapping_id: int, enabled: bool) -> MappingView:
    """Disable: queued rows are skipped at push time ("mapping disabled"). Enable: recent ones queue again."""
    mapping = _mapping(session, mapping_id)
    integration = _integration(session, mapping.integration_id)
    mapping.enabled = enabled
    session.add(mapping)
    session.flush()
    if enabled:
        horizon = _window_start(integration)
        skipped_ids = (
            select(ConversionPush.id)
            .join(Conversion, Conversion.id == ConversionPush.conversion_id)
            .where(
                ConversionPush.mapping_id == mapping_id,
                ConversionPush.status == "skipped",
                ConversionPush.skip_reason == SKIPPED_DISABLED,
                Conversion.occurred_at >= horizon,
            )
        )
        session.exec(
            update(ConversionPush)
            .where(ConversionPush.id.in_(skipped_ids))  # type: ignore[attr-defined]
            .values(status="pending", skip_reason=None, next_attempt_at=utcnow())
        )
        _queue_recent(session, integration, mapping)
    session.commit()
    return _view(mapping, _spec(integration.provider))


def delete_mapping(session: Session, mapping_id: int) -> None:
    """Delete a mapping and its unsent rows; refused when it has sent conversions (disable it instead)."""
    mapping = _mapping(session, mapping_id)
    sent = _sent_count(session, mapping_id)
    if sent:
        raise MappingProblem(
            f"This mapping has sent {sent:,} conversion{'s' if sent != 1 else ''}; Push History "
            "keeps them, so it cannot be deleted. Disable it to stop pushing."
        )
    if leases.is_running(mapping.integration_id, scope="push"):
        raise MappingProblem("A push of this mapping is in progress; try again in a minute.")
    session.exec(delete(ConversionPush).where(ConversionPush.mapping_id == mapping_id))  # type: ignore[arg-type]
    session.delete(mapping)
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
        Conversion.event_type == mapping.event_type,
        Conversion.occurred_at >= _window_start(integration),
        ConversionMapping.id == mapping.id,
    )
    return outbox._enqueue(session, condition)  # noqa: SLF001 - the outbox's own insert, narrowed to one mapping


# ---------------------------------------------------------------- live provider actions


async def available_actions(hub: ProviderHub, integration_id: int) -> list[ConversionAction]:
    """What the mapping form offers: the account's actions read live where the provider lists them (Google
    UPLOAD_CLICKS actions, Meta pixels), else the provider's suggestions (GA4's recommended events)."""
    with session_scope() as session:
        provider_key = _integration(session, integration_id).provider
    spec = _spec(provider_key)
    if spec is None or spec.action is None:
        return []
    if not spec.live_actions:
        return [
            ConversionAction(id=s, name=s, kind="event", extra={"recommended": True}) for s in spec.action.suggestions
        ]
    try:
        async with integrations.provider_session(hub, integration_id) as (provider, creds, account):
            return await ability(provider, ActionCatalog).list_conversion_actions(creds, account)
    except AuthExpired as exc:
        raise MappingProblem(f"The provider refused the authorisation ({exc.message}); reconnect first.") from None
    except ProviderError as exc:
        raise MappingProblem(f"Could not list conversion actions: {integrations.describe_error(exc)}") from None
    except integrations.ConnectionProblem as exc:
        raise MappingProblem(exc.message) from None


async def flag_missing(hub: ProviderHub, integration_id: int) -> list[int]:
    """Ids of this integration's mappings whose provider action no longer exists (typed targets never)."""
    with session_scope() as session:
        integration = _integration(session, integration_id)
        mappings = [
            (int(m.id), m.action_id)
            for m in session.exec(  # type: ignore[arg-type]
                select(ConversionMapping).where(ConversionMapping.integration_id == integration_id)
            )
        ]
        spec = _spec(integration.provider)
    if spec is None or not spec.live_actions or not mappings:
        return []
    live = {str(a.id).rsplit("/", 1)[-1] for a in await available_actions(hub, integration_id)}
    return [mid for mid, action_id in mappings if action_id not in live]
