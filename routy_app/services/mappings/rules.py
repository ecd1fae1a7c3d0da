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

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from routy_app.errors import UserFacingError
from routy_app.models import ConversionMapping, Integration, saved_id
from routy_app.providers import registry
from routy_app.providers.definition import MappingSpec
from routy_app.providers.errors import SetupFieldError

EVENT_TYPE_RE = re.compile(r"[a-z0-9_]{1,64}")
SKIPPED_DISABLED = "mapping disabled"


class MappingProblem(UserFacingError):
    """A refusal of a mapping change; `message` is shown as is, `field` names the form field when known."""


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


def view_of(m: ConversionMapping, spec: MappingSpec | None) -> MappingView:
    extra = json.loads(m.extra_json or "{}")
    name = m.action_name or m.action_id
    label = spec.label(name, extra) if spec is not None else name
    return MappingView(saved_id(m), m.event_type, m.action_id, m.action_name, extra, m.enabled, label)


def spec_for(session: Session, integration_id: int) -> MappingSpec | None:
    """The mapping form of an integration's provider (None when it takes no conversions)."""
    integration = session.get(Integration, integration_id)
    return spec_of(integration.provider) if integration else None


def spec_of(provider_key: str) -> MappingSpec | None:
    definition = registry.find(provider_key)
    return definition.mapping if definition else None


def integration_of(session: Session, integration_id: int) -> Integration:
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise MappingProblem("This integration no longer exists (it may have been disconnected).")
    return integration


def mapping_of(session: Session, mapping_id: int) -> ConversionMapping:
    mapping = session.get(ConversionMapping, mapping_id)
    if mapping is None:
        raise MappingProblem("This mapping no longer exists.")
    return mapping


# ---------------------------------------------------------------- validation


def validate_mapping(
    provider: str, event_type: str, action_id: str, extra: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The normalised action id and extra (the provider's own rules), or MappingProblem naming the field."""
    if not isinstance(event_type, str) or not EVENT_TYPE_RE.fullmatch(event_type):
        raise MappingProblem(
            "The Routy event type must be 1-64 lowercase letters, digits or underscores (e.g. lead, sale).",
            "event_type",
        )
    spec = spec_of(provider)
    if spec is None:
        raise MappingProblem(f"{registry.display_name(provider)} does not receive conversions.")
    try:
        return spec.validate(action_id or "", {k: v for k, v in (extra or {}).items() if v is not None}, None)
    except SetupFieldError as exc:
        raise MappingProblem(exc.message, exc.field) from None
