"""Crafted input that used to reach a 500 or pass unchecked (attack report on main 674edbd: F7, F8, F10).

In-process, like test_http_hardening.py: the API behind the security layer, with a real database.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from sqlmodel import select

from routy_app.api.app import build_api
from routy_app.config import reload_settings
from routy_app.db import session_scope
from routy_app.models import Conversion
from routy_app.security import secure
from routy_app.services import auth, conversions
from routy_app.timeutil import utcnow

ORIGIN = "http://sandbox.test"  # PUBLIC_URL in the test settings (tests/conftest.py)
ADMIN, PASSWORD = "admin@example.com", "Ops-Lead-pass-8731"


@pytest.fixture
async def client(db):
    reload_settings()
    transport = httpx.ASGITransport(app=secure(build_api()), client=("198.51.100.21", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
        yield http


def _signed_in(client: httpx.AsyncClient) -> None:
    with session_scope() as session:
        auth.add_user(session, ADMIN, PASSWORD, "admin")
        result = auth.sign_in(session, ADMIN, PASSWORD)
    assert result.ok
    client.cookies.set(auth.SESSION_COOKIE, result.token)  # type: ignore[arg-type]


# ---------------------------------------------------------------- F7: path ids

_BAD_IDS = ["9" * 4301, "1" + "0" * 5000, "9" * 20, str(2**63), "0", "00", "-1", "1e3", "abc", "%C2%B2", "%EF%BC%91"]


@pytest.mark.parametrize("raw", _BAD_IDS)
@pytest.mark.parametrize("signed_in", [False, True])
async def test_export_with_a_malformed_or_huge_id_is_a_404_not_a_500(client, raw, signed_in):
    if signed_in:
        _signed_in(client)
    answer = await client.get(f"/api/metrics/{raw}/export.csv?start=2026-01-01&end=2026-01-02")
    assert answer.status_code == 404, (raw, answer.status_code)


async def test_export_of_a_well_formed_unknown_id_still_asks_for_a_sign_in(client):
    answer = await client.get("/api/metrics/7/export.csv?start=2026-01-01&end=2026-01-02")
    assert answer.status_code == 401
    _signed_in(client)
    answer = await client.get("/api/metrics/007/export.csv?start=2026-01-01&end=2026-01-02")
    assert answer.status_code == 404
    answer = await client.get(f"/api/metrics/{'0' * 5000}1/export.csv?start=2026-01-01&end=2026-01-02")
    assert answer.status_code == 404  # id 1 with leading zeros: parsed without int()'s 4,300-digit limit


# ---------------------------------------------------------------- F8: invisible characters, invalid UTF-8


@pytest.fixture
def api_key(db) -> str:
    with session_scope() as session:
        return conversions.create_api_key(session, 1)


def _event(**extra) -> dict:
    return {"id": "ord-1", "event_type": "sale", "occurred_at": (utcnow() - dt.timedelta(hours=1)).isoformat(), **extra}


@pytest.mark.parametrize(
    "field, value",
    [
        ("id", "a\u200bb\u2028c\ufeff"),
        ("user_agent", "x\u2028y\u2029"),
        ("id", "t\U000e0041\U000e0042"),
        ("gclid", "Cj0\ue000KC"),
        ("email", "buyer\u200b@example.com"),
    ],
)
async def test_ingest_refuses_invisible_characters_naming_the_field(client, api_key, field, value):
    body = json.dumps(_event(**{field: value})).encode()
    answer = await client.post("/api/v1/conversions", content=body, headers={"Authorization": f"Bearer {api_key}"})
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]


async def test_postback_refuses_invalid_utf8_instead_of_merging_two_ids(client, api_key):
    for raw_id in ("%FF%FE", "%FE%FF"):
        answer = await client.get(f"/postback?key={api_key}&event=sale&id={raw_id}")
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["id"]
    answer = await client.get(f"/postback?key={api_key}&event=sale&id=a&email=%ED%A0%80@x.com")
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "email"
    with session_scope() as session:
        assert session.exec(select(Conversion)).all() == []


async def test_postback_with_proper_utf8_and_emoji_is_stored(client, api_key):
    answer = await client.get(f"/postback?key={api_key}&event=sale&id=Bestellung-M%C3%BCller-%F0%9F%98%80")
    assert answer.status_code == 201, answer.text
    assert answer.json()["external_id"] == "Bestellung-Müller-😀"
