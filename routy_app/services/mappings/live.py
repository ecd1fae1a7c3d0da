"""Mappings and the provider's live account: the actions the form offers, a new mapping's target checked
live (where the provider can: Google), and mappings whose target is gone."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import ConversionMapping, saved_id
from routy_app.providers import registry
from routy_app.providers.errors import AuthExpired, ProviderError, SetupFieldError
from routy_app.providers.protocols import ActionCatalog, ActionCheck, ability
from routy_app.providers.values import ConversionAction
from routy_app.services import integrations
from routy_app.services.audit import SYSTEM, Actor
from routy_app.services.hub import ProviderHub
from routy_app.services.mappings.crud import add_mapping
from routy_app.services.mappings.rules import MappingProblem, MappingView, integration_of, spec_of, validate_mapping


async def save_mapping(
    hub: ProviderHub,
    integration_id: int,
    event_type: str,
    action_id: str,
    action_name: str,
    extra: dict[str, Any] | None = None,
    *,
    actor: Actor = SYSTEM,
) -> MappingView:
    """add_mapping after the provider's own destination rules, read live (what the Mappings form calls).

    Google: the conversion action is looked up by id in the integration's account, whatever its type,
    so a stale list or a typed id cannot slip through: it must exist, be enabled, be UPLOAD_CLICKS and
    be owned by the account Routy pushes as (the operating account). The refusal says why.
    """
    with session_scope() as session:
        provider_key = integration_of(session, integration_id).provider
    definition = registry.get(provider_key)
    if definition.mapping is not None and definition.mapping.live_actions:
        action = await _checked_action(hub, integration_id, provider_key, action_id, extra or {})
        if action is not None:
            action_name = action.name or action_name
    return add_mapping(integration_id, event_type, action_id, action_name, extra, actor=actor)


async def _checked_action(
    hub: ProviderHub, integration_id: int, provider_key: str, action_id: str, extra: dict[str, Any]
) -> ConversionAction | None:
    """The provider's live check of a new mapping's action (only providers that have one, e.g. Google)."""
    action_id, _ = validate_mapping(provider_key, "check", action_id, extra)
    async with _as_mapping_problem(registry.display_name(provider_key), "check the conversion action"):
        try:
            async with integrations.provider_session(hub, integration_id) as (provider, creds, account):
                if not isinstance(provider, ActionCheck):
                    return None
                return await provider.check_action(creds, account, action_id)
        except SetupFieldError as exc:
            raise MappingProblem(exc.message, exc.field) from None
    raise AssertionError("unreachable: the block returns or raises")


@contextlib.asynccontextmanager
async def _as_mapping_problem(name: str, doing: str) -> AsyncIterator[None]:
    """A provider call behind the door, its refusals said as the mapping form's error."""
    try:
        yield
    except AuthExpired as exc:
        raise MappingProblem(f"{name} refused the authorisation ({exc.message}); reconnect first.") from None
    except ProviderError as exc:
        raise MappingProblem(f"Could not {doing}: {integrations.describe_error(exc)}") from None
    except integrations.ConnectionProblem as exc:
        raise MappingProblem(exc.message) from None


# ---------------------------------------------------------------- live provider actions


async def available_actions(hub: ProviderHub, integration_id: int) -> list[ConversionAction]:
    """What the mapping form offers: the account's actions read live where the provider lists them (Google
    UPLOAD_CLICKS actions, Meta pixels), else the provider's suggestions (GA4's recommended events)."""
    with session_scope() as session:
        provider_key = integration_of(session, integration_id).provider
    spec = spec_of(provider_key)
    if spec is None or spec.action is None:
        return []
    if not spec.live_actions:
        return [
            ConversionAction(id=s, name=s, kind="event", extra={"recommended": True}) for s in spec.action.suggestions
        ]
    async with (
        _as_mapping_problem("The provider", "list conversion actions"),
        integrations.provider_session(hub, integration_id) as (provider, creds, account),
    ):
        return await ability(provider, ActionCatalog).list_conversion_actions(creds, account)
    raise AssertionError("unreachable: the block returns or raises")


async def flag_missing(hub: ProviderHub, integration_id: int) -> list[int]:
    """Ids of this integration's mappings whose provider action no longer exists (typed targets never)."""
    with session_scope() as session:
        integration = integration_of(session, integration_id)
        mappings = [
            (saved_id(m), m.action_id)
            for m in session.exec(select(ConversionMapping).where(ConversionMapping.integration_id == integration_id))
        ]
        spec = spec_of(integration.provider)
    if spec is None or not spec.live_actions or not mappings:
        return []
    live = {str(a.id).rsplit("/", 1)[-1] for a in await available_actions(hub, integration_id)}
    return [mid for mid, action_id in mappings if action_id not in live]
