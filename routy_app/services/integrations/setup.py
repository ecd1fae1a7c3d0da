"""Connecting a provider that is set up with a form (GA4 today): its definition's fields, checked live by
its adapter (`ManualSetup`), then stored; nothing is saved when a check fails."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlmodel import select

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.models import Direction, Integration, IntegrationStatus, TrafficSource, saved_id
from routy_app.providers import registry
from routy_app.providers.definition import AuthScheme, Capability, ProviderDefinition
from routy_app.providers.errors import ProviderError, SetupFieldError
from routy_app.providers.protocols import ManualSetup, ability
from routy_app.services import rescheduling
from routy_app.services.audit import SYSTEM, Actor, AuditAction, record_by
from routy_app.services.hub import ProviderHub
from routy_app.services.integrations.credentials import ConnectionProblem, save_credentials


def default_direction(pull: bool, push: bool) -> Direction:
    """What a new integration does by default: everything it can."""
    if pull and push:
        return Direction.BIDIRECTIONAL
    return Direction.PULL if pull else Direction.PUSH


def setup_defaults(provider_key: str, sandbox_base: str | None = None) -> dict[str, str]:
    """The set-up form's starting values: each field's default, and the provider's sandbox defaults in
    sandbox mode (the Webhook's URL points at the sandbox's request bin)."""
    definition = registry.get(provider_key)
    values = {f.name: f.default for f in definition.setup_fields if f.default}
    settings = get_settings()
    if settings.is_sandbox and definition.sandbox_setup_defaults is not None:
        values.update(definition.sandbox_setup_defaults(sandbox_base or settings.sandbox_url))
    return values


def missing_fields(info: ProviderDefinition, fields: Mapping[str, object]) -> dict[str, str]:
    """Every required set-up field left empty, each with its message: an empty form is told everything
    it lacks at once (the provider's format checks come after, one field at a time)."""
    return {
        f.name: f"{f.label} is required."
        for f in info.setup_fields
        if f.required and not str(fields.get(f.name) or "").strip()
    }


async def setup_manual(
    hub: ProviderHub, source_id: int, provider_key: str, fields: dict[str, str], *, actor: Actor = SYSTEM
) -> Integration:
    """Validate a set-up form live (the provider's own checks), then save.

    Raises ConnectionProblem naming the field, or carrying the provider's message; saves nothing then.
    """
    info = registry.get(provider_key)
    if info.auth is not AuthScheme.MANUAL:
        raise ConnectionProblem(f"{info.name} is connected with OAuth, not a form.")
    with session_scope() as session:
        if session.get(TrafficSource, source_id) is None:
            raise ConnectionProblem("This traffic source does not exist.")
        if session.exec(
            select(Integration).where(Integration.traffic_source_id == source_id, Integration.provider == provider_key)
        ).first():
            raise ConnectionProblem(f"{info.name} is already connected to this traffic source.")
    missing = missing_fields(info, fields)
    if missing:
        names = ", ".join(f.label for f in info.setup_fields if f.name in missing)
        raise ConnectionProblem(f"Fill in the required fields: {names}.", field_errors=missing)
    form = ability(hub.provider(provider_key), ManualSetup)
    try:
        account, creds = await form.validate_setup({f.name: str(fields.get(f.name) or "") for f in info.setup_fields})
    except SetupFieldError as exc:
        raise ConnectionProblem(exc.message, field=exc.field) from None
    except ProviderError as exc:
        raise ConnectionProblem(f"{info.name} rejected the check: {exc.message}") from None
    can_pull = info.can(Capability.PULL) and info.can_pull(creds)
    with session_scope() as session:
        integration = Integration(
            traffic_source_id=source_id,
            provider=provider_key,
            status=IntegrationStatus.ACTIVE,
            account_id=account.id,
            account_name=account.name,
            account_currency=account.currency,
            account_timezone=account.timezone,
            direction=default_direction(can_pull, info.can(Capability.PUSH)),
            settings_json=json.dumps({"pull_enabled": can_pull}),
        )
        save_credentials(integration, creds)
        session.add(integration)
        session.flush()
        record_by(
            session,
            actor,
            AuditAction.CONNECTED,
            integration_id=integration.id,
            source_id=source_id,
            detail=f"{info.name} {account.id}",
        )
        session.commit()
    rescheduling.reschedule(saved_id(integration))  # set by the commit
    return integration
