"""Every provider Routy knows, in the order the Integrations tab shows their cards.

The one place outside the provider packages that names them: services, state and UI look definitions
up here by the key stored on each Integration (tests/unit/test_architecture.py keeps it so).
"""

from __future__ import annotations

import datetime as dt

from routy_app.errors import NotFound
from routy_app.providers import ga4, google_ads, meta_ads, webhook
from routy_app.providers.context import ProviderContext
from routy_app.providers.definition import Capability, ProviderDefinition
from routy_app.providers.protocols import Provider

DEFINITIONS: tuple[ProviderDefinition, ...] = (
    google_ads.DEFINITION,
    meta_ads.DEFINITION,
    ga4.DEFINITION,
    webhook.DEFINITION,
)
_BY_KEY = {d.key: d for d in DEFINITIONS}


class UnknownProvider(NotFound):
    """No provider has this key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"Unknown provider {key!r}.")
        self.key = key


def all_definitions() -> tuple[ProviderDefinition, ...]:
    return DEFINITIONS


def get(key: str) -> ProviderDefinition:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise UnknownProvider(key) from None


def find(key: str) -> ProviderDefinition | None:
    return _BY_KEY.get(key)


def display_name(key: str) -> str:
    """The provider's name, or the key itself for a key no provider has (rows of a removed provider)."""
    definition = find(key)
    return definition.name if definition else key


def with_capability(capability: Capability) -> tuple[ProviderDefinition, ...]:
    return tuple(d for d in DEFINITIONS if d.can(capability))


def longest_push_window() -> dt.timedelta:
    return max((d.push_window for d in with_capability(Capability.PUSH)), default=dt.timedelta(0))


def build(key: str, ctx: ProviderContext) -> Provider:
    """The adapter for `key`, speaking through `ctx.http` (tests pass an ASGI client) to `ctx.settings`' hosts."""
    return get(key).build(ctx)
