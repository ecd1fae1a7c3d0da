"""Conversions in: POST /api/v1/conversions and GET /postback through the real Starlette routes + DB."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select
from starlette.applications import Starlette

from routy_app.api.conversions import routes
from routy_app.db import session_scope
from routy_app.models import Conversion, ConversionPush, TrafficSource
from routy_app.services import conversions, mappings
from routy_app.timeutil import utcnow
from tests.integration.factories import connected_integration, hub  # noqa: F401 - fixture


@pytest.fixture
def api_key(db) -> str:
    with session_scope() as session:
        return conversions.create_api_key(session, 1)


@pytest.fixture
async def api(db):
    transport = httpx.ASGITransport(app=Starlette(routes=routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://routy.test") as client:
        yield client


def event(n: int = 1, **extra) -> dict:
    when = (utcnow() - dt.timedelta(hours=1)).isoformat()
    return {
        "id": f"ord-{n}",
        "event_type": "sale",
        "occurred_at": when,
        "value": "19.99",
        "currency": "USD",
        "gclid": f"Cj0KCQ-{n}",
        **extra,
    }


def stored_count() -> int:
    with session_scope() as session:
        return int(session.exec(select(func.count()).select_from(Conversion)).one())


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


async def test_same_id_twice_stores_one_row_and_answers_200_the_second_time(api, api_key):
    first = await api.post("/api/v1/conversions", json=event(), headers=auth(api_key))
    again = await api.post("/api/v1/conversions", json=event(value="99.00"), headers=auth(api_key))
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["status"] == "created" and again.json()["status"] == "duplicate"
    assert again.json()["id"] == first.json()["id"] and again.json()["external_id"] == "ord-1"
    assert stored_count() == 1
    with session_scope() as session:
        conv = session.exec(select(Conversion)).one()
        assert conv.value_micros == 19_990_000  # the re-send changed nothing


async def test_batch_answers_per_event_status(api, api_key):
    await api.post("/api/v1/conversions", json=event(1), headers=auth(api_key))
    answer = await api.post("/api/v1/conversions", json=[event(1), event(2), event(2)], headers=auth(api_key))
    assert answer.status_code == 200
    assert [e["status"] for e in answer.json()["events"]] == ["duplicate", "created", "duplicate"]
    assert answer.json()["created"] == 1 and stored_count() == 2


async def test_one_bad_event_rejects_the_whole_batch_naming_index_and_field(api, api_key):
    bad = event(3, occurred_at="2026-01-01T10:00:00", currency="usd")
    answer = await api.post("/api/v1/conversions", json=[event(1), event(2), bad], headers=auth(api_key))
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] and {(e["index"], e["field"]) for e in body["errors"]} == {(2, "occurred_at"), (2, "currency")}
    assert stored_count() == 0


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"event_type": "lead"}, "id"),
        ({"id": "a", "occurred_at": "2026-01-01T00:00:00Z"}, "event_type"),
        ({"id": "a", "event_type": "lead"}, "occurred_at"),
        ({"id": "a", "event_type": "lead", "occurred_at": "2026-01-01T00:00:00Z", "value": 5}, "currency"),
        ({"id": "a", "event_type": "lead", "occurred_at": "2026-01-01T00:00:00Z", "bogus": 1}, "bogus"),
    ],
)
async def test_single_event_422_names_the_field(api, api_key, payload, field):
    answer = await api.post("/api/v1/conversions", json=payload, headers=auth(api_key))
    assert answer.status_code == 422
    assert field in {e["field"] for e in answer.json()["errors"]}
    assert stored_count() == 0


async def test_more_than_1000_events_and_bad_json_are_refused(api, api_key):
    many = await api.post("/api/v1/conversions", json=[event(i) for i in range(1001)], headers=auth(api_key))
    garbage = await api.post("/api/v1/conversions", content=b"{not json", headers=auth(api_key))
    assert many.status_code == 422 and garbage.status_code == 400 and stored_count() == 0


async def test_missing_wrong_or_rotated_key_is_401(api, api_key):
    assert (await api.post("/api/v1/conversions", json=event())).status_code == 401
    wrong = await api.post("/api/v1/conversions", json=event(), headers=auth("rk_live_nope"))
    assert wrong.status_code == 401 and "error" in wrong.json()
    with session_scope() as session:
        new_key = conversions.create_api_key(session, 1)
        source = session.get(TrafficSource, 1)
        assert source.api_key_last4 == new_key[-4:] and new_key not in (source.api_key_hash or "")
    assert (await api.post("/api/v1/conversions", json=event(), headers=auth(api_key))).status_code == 401
    assert (await api.post("/api/v1/conversions", json=event(), headers=auth(new_key))).status_code == 201


async def test_value_is_parsed_as_decimal_not_float(api, api_key):
    raw = b'{"id":"d","event_type":"sale","occurred_at":"2026-01-01T00:00:00Z","value":0.29,"currency":"EUR"}'
    answer = await api.post(
        "/api/v1/conversions", content=raw, headers={**auth(api_key), "content-type": "application/json"}
    )
    assert answer.status_code == 201
    with session_scope() as session:
        assert session.exec(select(Conversion)).one().value_micros == 290_000  # float would give 289999.99...


async def test_postback_fires_are_idempotent_and_validated(api, api_key):
    url = f"/postback?key={api_key}&event=lead&click_id=fb.1.1554763741205.AbCd&value=5&currency=EUR"
    first, again = await api.get(url), await api.get(url)
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    with session_scope() as session:
        conv = session.exec(select(Conversion)).one()
        assert conv.fbc == "fb.1.1554763741205.AbCd" and conv.gclid is None and conv.value_micros == 5_000_000
    bad = await api.get(f"/postback?key={api_key}&event=Lead&click_id=x")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "event_type"
    assert (await api.get("/postback?key=wrong&event=lead")).status_code == 401


async def test_ingest_queues_mapped_types_only_in_the_same_transaction(hub, api, api_key):
    integration_id = await connected_integration(hub, "google_ads")
    action = (await mappings.available_actions(hub, integration_id))[0]
    with session_scope() as session:
        mappings.add_mapping(integration_id, "sale", action.id, action.name)
    answer = await api.post("/api/v1/conversions", json=[event(1), event(2, event_type="lead")], headers=auth(api_key))
    assert [e["queued_pushes"] for e in answer.json()["events"]] == [1, 0]
    with session_scope() as session:
        rows = session.exec(select(ConversionPush)).all()
        assert len(rows) == 1 and rows[0].status == "pending"


def test_test_conversion_form_and_recent_list(db):
    with session_scope() as session:
        conv = conversions.record_test_conversion(
            session, 1, {"event_type": "lead", "gclid": "abc", "value": "", "email": "a@b.co"}
        )
        assert conv.external_id.startswith("test-") and conv.email_sha256 and conv.value_micros == 0
        with pytest.raises(conversions.ValidationFailed) as problem:
            conversions.record_test_conversion(session, 1, {"event_type": "lead", "value": "5"})
        assert problem.value.errors[0].field == "currency"
        rows, total = conversions.recent_conversions(session, 1, 1, 10)
    assert total == 1 and rows[0].event_type == "lead" and rows[0].identifiers == "email (hashed)"
    assert rows[0].pushes == "not queued"
