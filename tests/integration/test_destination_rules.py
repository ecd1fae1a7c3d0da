"""Data Manager destination rules and eventSource, applied when a Google Ads mapping is saved.

The operating account Routy pushes as is the integration's own customer, so a mapping must name an
enabled UPLOAD_CLICKS action that this customer owns; anything else is refused at save, with the reason,
instead of failing every push later.
"""

from __future__ import annotations

import json

import pytest

from routy_app.db import session_scope
from routy_app.models import ConversionMapping
from routy_app.providers.google_ads.rules import destination_problem, normalise_event_source
from routy_app.providers.values import Account, ConversionAction
from routy_app.sandbox.google import ads_data as gd
from routy_app.services import mappings
from routy_app.services.mappings import MappingProblem
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture

US, DE, MANAGER = "1234567890", "5550000001", gd.MANAGER_ID


def _action(customer: str, name: str) -> dict:
    return next(a for a in gd.conversion_actions(42, customer) if a["conversion_action.name"] == name)


async def test_an_own_upload_clicks_action_is_saved_with_its_event_source(hub) -> None:
    integration_id = await connected_integration(hub, "google_ads", US)
    crm = _action(US, "CRM purchase")
    view = await mappings.save_mapping(
        hub, integration_id, "call", str(crm["conversion_action.id"]), "ignored", {"event_source": "phone"}
    )
    assert view.action_name == "CRM purchase" and view.extra == {"event_source": "PHONE"}
    assert view.label == "CRM purchase · phone"
    default = await mappings.save_mapping(hub, integration_id, "sale", str(crm["conversion_action.id"]), "x", {})
    assert default.extra["event_source"] == "WEB"


async def test_a_webpage_action_is_refused_with_the_reason(hub) -> None:
    integration_id = await connected_integration(hub, "google_ads", US)
    webpage = _action(US, "Website purchase (tag)")
    with pytest.raises(MappingProblem) as refused:
        await mappings.save_mapping(hub, integration_id, "sale", str(webpage["conversion_action.id"]), "x", {})
    assert refused.value.field == "action_id"
    assert "type WEBPAGE" in refused.value.message and "UPLOAD_CLICKS" in refused.value.message
    with session_scope() as session:
        assert mappings.list_mappings(session, integration_id) == []


async def test_an_action_owned_by_the_manager_is_refused_with_the_reason(hub) -> None:
    """Cross-account conversion tracking lists the manager's action in the client: Data Manager refuses it."""
    integration_id = await connected_integration(hub, "google_ads", DE)
    listed = await mappings.available_actions(hub, integration_id)
    shared = next(a for a in listed if a.extra["owner_customer"] == f"customers/{MANAGER}")
    with pytest.raises(MappingProblem) as refused:
        await mappings.save_mapping(hub, integration_id, "sale", shared.id, shared.name, {})
    assert f"belongs to customer {MANAGER}, not to {DE}" in refused.value.message
    own = next(a for a in listed if a.extra["owner_customer"] == f"customers/{DE}")
    assert (await mappings.save_mapping(hub, integration_id, "sale", own.id, own.name, {})).action_id == own.id


async def test_removed_and_unknown_actions_are_refused(hub) -> None:
    integration_id = await connected_integration(hub, "google_ads", US)
    removed = _action(US, "Old CRM import")
    with pytest.raises(MappingProblem, match="removed in Google Ads"):
        await mappings.save_mapping(hub, integration_id, "sale", str(removed["conversion_action.id"]), "x", {})
    with pytest.raises(MappingProblem, match="has no conversion action 42"):
        await mappings.save_mapping(hub, integration_id, "sale", "42", "x", {})


async def test_an_unknown_event_source_is_refused_with_the_field(hub) -> None:
    integration_id = await connected_integration(hub, "google_ads", US)
    with pytest.raises(MappingProblem) as refused:
        mappings.add_mapping(integration_id, "sale", "123", "x", {"event_source": "EMAIL"})
    assert refused.value.field == "event_source"


def test_destination_rules_read_as_sentences() -> None:
    client = Account(id=DE, name="Shop DE", currency="EUR", timezone="Europe/Berlin", login_customer_id=MANAGER)
    manager = Account(id=MANAGER, name="Agency", currency="USD", timezone="UTC", manager=True)
    own = ConversionAction(id="1", name="CRM", kind="UPLOAD_CLICKS", extra={"owner_customer": f"customers/{DE}"})
    assert destination_problem(client, own) is None
    assert "manager account" in destination_problem(manager, own)
    tag = ConversionAction(id="2", name="Tag", kind="WEBPAGE", extra={"owner_customer": f"customers/{DE}"})
    assert "only UPLOAD_CLICKS" in destination_problem(client, tag)
    assert [normalise_event_source(v) for v in ("web", "In store", "in-store", "MESSAGE", "")] == [
        "WEB",
        "IN_STORE",
        "IN_STORE",
        None,
        None,
    ]


async def test_mappings_from_before_the_choice_get_web(db) -> None:
    """Migration 0006 gives existing Google mappings eventSource WEB and leaves other providers alone."""
    from alembic import command
    from sqlalchemy import text

    from routy_app.db import alembic_config, get_engine

    command.downgrade(alembic_config(), "0004")
    with get_engine().begin() as conn:
        conn.execute(
            text(
                "INSERT INTO integration (id, traffic_source_id, provider, status, settings_json, direction, "
                "schedule_minutes, lookback_days, history_days, consecutive_failures, created_at, updated_at) "
                "VALUES (1, 1, 'google_ads', 'active', '{}', 'bidirectional', 60, 7, 90, 0, "
                "'2026-11-01 00:00:00', '2026-11-01 00:00:00'), (2, 1, 'meta_ads', 'active', '{}', "
                "'bidirectional', 60, 7, 90, 0, '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO conversionmapping (integration_id, event_type, action_id, action_name, "
                "extra_json, enabled, created_at) VALUES (1, 'sale', '7', 'CRM', '{}', TRUE, "
                "'2026-11-01 00:00:00'), (2, 'sale', '8', 'Pixel', '{\"event_name\": \"Purchase\"}', TRUE, "
                "'2026-11-01 00:00:00')"
            )
        )
    command.upgrade(alembic_config(), "head")
    with session_scope() as session:
        extras = {m.integration_id: json.loads(m.extra_json) for m in session.query(ConversionMapping)}
    assert extras == {1: {"event_source": "WEB"}, 2: {"event_name": "Purchase"}}


async def test_the_pushed_event_source_follows_origin_then_mapping(hub, sandbox_state) -> None:
    """Through the whole engine: ingest (with and without origin) -> outbox -> Data Manager."""
    from routy_app.services import push
    from tests.integration.test_push import ingest

    integration_id = await connected_integration(hub, "google_ads", US)
    crm = _action(US, "CRM purchase")
    await mappings.save_mapping(
        hub, integration_id, "sale", str(crm["conversion_action.id"]), "x", {"event_source": "PHONE"}
    )
    ingest(2, gclid="Cj0-{i}")
    ingest(1, start=2, gclid="Cj0-{i}", origin="in_store")
    await push.run_push(hub, integration_id, "manual")
    sent = {e["transactionId"].rsplit(":", 1)[-1]: e["eventSource"] for e in sandbox_state.received["google_ads"]}
    assert sent == {"ord-0": "PHONE", "ord-1": "PHONE", "ord-2": "IN_STORE"}
