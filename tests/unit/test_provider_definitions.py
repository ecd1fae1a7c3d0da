"""Each provider's definition says what its adapter can do, and the adapter can do it.

The services trust the definitions (they never probe an adapter with hasattr), so a definition that
promises an ability its adapter lacks, or a form with no fields, must fail here, not in production.
"""

from __future__ import annotations

import httpx
import pytest

from routy_app.config import Settings
from routy_app.providers import registry
from routy_app.providers.context import ProviderContext
from routy_app.providers.definition import AuthScheme, Capability, ProviderDefinition
from routy_app.providers.protocols import (
    ActionCatalog,
    ConversionSink,
    ManualSetup,
    MetricsSource,
    OAuthFlow,
    Provider,
    VerdictSource,
)

ABILITIES = {
    Capability.PULL: MetricsSource,
    Capability.PUSH: ConversionSink,
    Capability.LIVE_ACTIONS: ActionCatalog,
    Capability.VERDICTS: VerdictSource,
}
DEDUP_KEY_LIMIT = 100  # services/push/rules.dedup_key keeps every key within this many characters


@pytest.fixture(params=[d.key for d in registry.all_definitions()])
def definition(request: pytest.FixtureRequest) -> ProviderDefinition:
    return registry.get(request.param)


def _adapter(definition: ProviderDefinition) -> Provider:
    settings = Settings(PUBLIC_URL="http://sandbox.test", ROUTY_PROVIDER_MODE="sandbox")
    return definition.build(ProviderContext(settings, httpx.AsyncClient()))


def test_the_adapter_has_every_ability_its_definition_declares(definition: ProviderDefinition) -> None:
    adapter = _adapter(definition)
    assert isinstance(adapter, Provider) and type(adapter).definition is definition
    for capability in definition.capabilities:
        assert isinstance(adapter, ABILITIES[capability]), f"{definition.key} declares {capability}"
    scheme = OAuthFlow if definition.auth is AuthScheme.OAUTH else ManualSetup
    assert isinstance(adapter, scheme), f"{definition.key} is set up by {definition.auth}"


def test_forms_and_mappings_are_declared_where_they_are_needed(definition: ProviderDefinition) -> None:
    if definition.auth is AuthScheme.MANUAL:
        assert definition.setup_fields, "a manual provider's form needs fields"
        assert len({f.name for f in definition.setup_fields}) == len(definition.setup_fields)
    else:
        assert not definition.setup_fields
    if definition.can(Capability.PUSH):
        assert definition.mapping is not None and definition.push_batch_limit > 0
        assert definition.push_window.total_seconds() > 0
        assert (definition.mapping.live_actions) == definition.can(Capability.LIVE_ACTIONS)
    if definition.can(Capability.PULL):
        assert definition.levels and set(definition.levels) <= set(definition.level_labels)


def test_keys_are_unique_url_safe_and_cards_have_logos(definition: ProviderDefinition) -> None:
    keys = [d.key for d in registry.all_definitions()]
    assert len(keys) == len(set(keys))
    assert definition.key.replace("_", "").isalnum() and definition.key.islower()
    assert definition.logo.startswith("/logos/") and definition.docs


def test_an_unknown_key_is_a_not_found() -> None:
    from routy_app.errors import NotFound

    with pytest.raises(NotFound):
        registry.get("myspace")
    assert registry.find("myspace") is None and registry.display_name("myspace") == "myspace"
