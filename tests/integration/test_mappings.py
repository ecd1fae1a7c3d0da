"""Conversion Mappings (services/mappings.py): validation, live actions, queueing on add/enable, delete rules."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from routy_app.db import session_scope
from routy_app.models import ConversionMapping
from routy_app.services import mappings, push
from routy_app.services.mappings import MappingProblem
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture
from tests.integration.test_push import ingest, pushes, statuses


async def test_live_actions_per_provider(hub):
    google = await connected_integration(hub, "google_ads")
    meta = await connected_integration(hub, "meta_ads")
    ga4 = await connected_integration(hub, "ga4")
    google_actions = await mappings.available_actions(hub, google)
    assert google_actions and all(a.kind == "UPLOAD_CLICKS" and a.id.isdigit() for a in google_actions)
    pixels = await mappings.available_actions(hub, meta)
    assert pixels and all(a.kind == "pixel" and "Purchase" in a.extra["standard_events"] for a in pixels)
    assert "purchase" in {a.id for a in await mappings.available_actions(hub, ga4)}


@pytest.mark.parametrize(
    "provider, event_type, action_id, extra, field",
    [
        ("google_ads", "Sale", "123", {}, "event_type"),
        ("google_ads", "sale", "abc", {}, "action_id"),
        ("meta_ads", "sale", "123456", {}, "event_name"),
        ("meta_ads", "sale", "123456", {"event_name": "BoughtStuff"}, "event_name"),
        ("ga4", "sale", "session_start", {}, "action_id"),
        ("ga4", "sale", "google_thing", {}, "action_id"),
    ],
)
async def test_invalid_mappings_are_refused_with_the_field(hub, provider, event_type, action_id, extra, field):
    integration_id = await connected_integration(hub, provider)
    with pytest.raises(MappingProblem) as problem:
        mappings.add_mapping(integration_id, event_type, action_id, "x", extra)
    assert problem.value.field == field


async def test_duplicate_mapping_is_refused(hub):
    integration_id = await connected_integration(hub, "ga4")
    with session_scope() as session:
        mappings.add_mapping(integration_id, "sale", "purchase", "purchase")
        with pytest.raises(MappingProblem, match="already mapped"):
            mappings.add_mapping(integration_id, "sale", "purchase", "purchase")
        mappings.add_mapping(integration_id, "lead", "generate_lead", "generate_lead")
        assert [m.event_type for m in mappings.list_mappings(session, integration_id)] == ["lead", "sale"]


async def test_adding_a_mapping_queues_recent_conversions_inside_the_window_only(hub):
    integration_id = await connected_integration(hub, "meta_ads")
    ingest(2, gclid="x", fbc="fb.1.1.{i}")
    ingest(1, start=5, age=dt.timedelta(days=10), fbc="fb.1.1.old")
    pixel = (await mappings.available_actions(hub, integration_id))[0]
    mappings.add_mapping(integration_id, "sale", pixel.id, pixel.name, {"event_name": "Purchase"})
    assert statuses(integration_id) == {"pending": 2}


async def test_delete_removes_unsent_rows_but_refuses_when_history_exists(hub):
    integration_id = await connected_integration(hub, "ga4")
    with session_scope() as session:
        unsent = mappings.add_mapping(integration_id, "lead", "generate_lead", "generate_lead")
        used = mappings.add_mapping(integration_id, "sale", "purchase", "purchase")
    ingest(2, event_type="lead", ga_client_id="1.{i}")
    ingest(2, start=10, ga_client_id="1.{i}")
    with session_scope() as session:
        session.exec(update(ConversionMapping).where(ConversionMapping.id == unsent.id).values(enabled=False))
        session.commit()
    await push.run_push(hub, integration_id)  # lead rows skipped (disabled), sale rows sent
    with session_scope() as session:
        mappings.delete_mapping(unsent.id)
        with pytest.raises(MappingProblem, match="Disable it"):
            mappings.delete_mapping(used.id)
    assert {r.mapping_id for r in pushes(integration_id)} == {used.id}


async def test_flag_missing_names_mappings_whose_action_is_gone(hub):
    integration_id = await connected_integration(hub, "google_ads")
    live = (await mappings.available_actions(hub, integration_id))[0]
    kept = mappings.add_mapping(integration_id, "sale", live.id, live.name)
    gone = mappings.add_mapping(integration_id, "lead", "999999999", "Removed action")
    assert await mappings.flag_missing(hub, integration_id) == [gone.id]
    assert kept.id not in await mappings.flag_missing(hub, integration_id)


async def test_update_mapping_changes_the_target_of_unsent_rows(hub, sandbox_state):
    integration_id = await connected_integration(hub, "ga4")
    view = mappings.add_mapping(integration_id, "sale", "purchase", "purchase")
    ingest(1, ga_client_id="1.1")
    mappings.update_mapping(view.id, action_id="close_convert_lead")
    with pytest.raises(MappingProblem):
        mappings.update_mapping(view.id, action_id="_bad")
    await push.run_push(hub, integration_id)
    assert [e["name"] for e in sandbox_state.received["ga4"]] == ["close_convert_lead"]
