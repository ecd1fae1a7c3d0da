"""Crafted input that used to reach a 500 or pass unchecked (attack report on main 674edbd: F7, F8, F10).

In-process, like test_http_hardening.py: the API behind the security layer, with a real database.
"""

from __future__ import annotations

import httpx
import pytest

from routy_app.api.app import build_api
from routy_app.config import reload_settings
from routy_app.db import session_scope
from routy_app.security import secure
from routy_app.services import auth

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
