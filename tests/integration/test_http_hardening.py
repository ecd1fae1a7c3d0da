"""Our HTTP routes as an attacker meets them, in-process: the API behind the security layer
(routy_app.security.secure(build_api())), with a real database. Items of issue 12 noted per test.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from sqlmodel import select

from routy_app.api.app import CONTROL_TOKEN_HEADER, build_api
from routy_app.config import reload_settings
from routy_app.db import session_scope
from routy_app.models import Integration, LoginAttempt, MetricRow, User
from routy_app.security import secure
from routy_app.services import auth, conversions
from routy_app.timeutil import utcnow

ORIGIN = "http://sandbox.test"  # PUBLIC_URL in the test settings (tests/conftest.py)
EVIL = "http://localhost:9999"  # another port of the same host: same site, other origin
ADMIN, PASSWORD = "admin@example.com", "Ops-Lead-pass-8731"
ATTACKER, ATTACKER_PASSWORD = "mallory@example.com", "Trap-door-pass-4417"


def _user(email: str, password: str, role: str = "admin") -> None:
    with session_scope() as session:
        auth.add_user(session, email, password, role)


def _token(email: str = ADMIN, password: str = PASSWORD) -> str:
    with session_scope() as session:
        result = auth.sign_in(session, email, password)
    assert result.ok
    return result.token  # type: ignore[return-value]


@pytest.fixture
async def client(db):
    reload_settings()
    transport = httpx.ASGITransport(app=secure(build_api()), client=("198.51.100.20", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
        yield http


# ---------------------------------------------------------------- 5: crafted input, export ids


@pytest.fixture
def api_key(db) -> str:
    with session_scope() as session:
        return conversions.create_api_key(session, 1)


def _event(**extra) -> dict:
    return {"id": "ord-1", "event_type": "sale", "occurred_at": (utcnow() - dt.timedelta(hours=1)).isoformat(), **extra}


async def test_json_nested_a_thousand_deep_is_a_400(client, api_key):
    body = b"[" * 1000 + b"]" * 1000
    answer = await client.post("/api/v1/conversions", content=body, headers={"Authorization": f"Bearer {api_key}"})
    assert answer.status_code == 400 and "nested" in answer.json()["error"]


@pytest.mark.parametrize(
    "field, value",
    [("email", "buyer\ud800@example.com"), ("id", "a\ud800b"), ("user_agent", "a\ud800b"), ("gclid", "a\ud800b")],
)
async def test_lone_surrogate_is_a_422_naming_the_field(client, api_key, field, value):
    body = json.dumps(_event(**{field: value})).encode()  # json.dumps escapes it as \ud800
    answer = await client.post("/api/v1/conversions", content=body, headers={"Authorization": f"Bearer {api_key}"})
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]


async def test_lone_surrogate_in_an_unknown_key_is_echoed_escaped(client, api_key):
    body = json.dumps({**_event(), "x\ud800": 1}).encode()
    answer = await client.post("/api/v1/conversions", content=body, headers={"Authorization": f"Bearer {api_key}"})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == repr("x\ud800")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
async def test_timestamps_outside_utc_range_are_a_422_on_both_routes(client, api_key, moment):
    answer = await client.post(
        "/api/v1/conversions", json=_event(occurred_at=moment), headers={"Authorization": f"Bearer {api_key}"}
    )
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "occurred_at"
    answer = await client.get("/postback", params={"key": api_key, "event": "sale", "occurred_at": moment})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "occurred_at"


async def test_export_of_an_integration_id_beyond_64_bits_is_a_404(client):
    _user(ADMIN, PASSWORD)
    client.cookies.set(auth.SESSION_COOKIE, _token())
    answer = await client.get(f"/api/metrics/{2**63}/export.csv?start=2026-01-01&end=2026-01-02")
    assert answer.status_code == 404


# ---------------------------------------------------------------- 6: the body cap streams


async def test_a_body_over_the_cap_is_refused_after_reading_at_most_the_cap(client, api_key):
    consumed = 0

    async def body():
        nonlocal consumed
        for _ in range(200):  # 200 MB if it were all read
            consumed += 1024 * 1024
            yield b" " * (1024 * 1024)

    answer = await client.post("/api/v1/conversions", content=body(), headers={"Authorization": f"Bearer {api_key}"})
    assert answer.status_code == 413
    assert consumed <= 6 * 1024 * 1024  # the cap (5 MB) plus the chunk that crossed it


async def test_a_declared_length_over_the_cap_is_refused_before_the_route_runs(client):
    answer = await client.post(
        "/sandbox/ga/mp/collect?measurement_id=G-X&api_secret=s",
        content=b"{}",
        headers={"Content-Length": str(200 * 1024 * 1024)},
    )
    assert answer.status_code == 413


async def test_the_sandbox_body_routes_are_capped_too(client):
    consumed = 0

    async def body():
        nonlocal consumed
        for _ in range(50):
            consumed += 1024 * 1024
            yield b" " * (1024 * 1024)

    answer = await client.post("/sandbox/ga/mp/collect?measurement_id=G-X&api_secret=s", content=body())
    assert answer.status_code == 413 and consumed <= 6 * 1024 * 1024


# ---------------------------------------------------------------- 7: login CSRF


async def test_sign_in_posted_from_another_origin_sets_no_cookie(client):
    _user(ATTACKER, ATTACKER_PASSWORD)
    answer = await client.post(
        "/auth/login", data={"email": ATTACKER, "password": ATTACKER_PASSWORD}, headers={"Origin": EVIL}
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?error=origin")
    assert "set-cookie" not in answer.headers
    referred = await client.post(
        "/auth/login", data={"email": ATTACKER, "password": ATTACKER_PASSWORD}, headers={"Referer": f"{EVIL}/trap.html"}
    )
    assert "set-cookie" not in referred.headers
    ours = await client.post(
        "/auth/login", data={"email": ATTACKER, "password": ATTACKER_PASSWORD}, headers={"Origin": ORIGIN}
    )
    assert ours.status_code == 303 and ours.cookies.get(auth.SESSION_COOKIE)


async def test_sign_out_posted_from_another_origin_keeps_the_session(client):
    _user(ADMIN, PASSWORD)
    token = _token()
    client.cookies.set(auth.SESSION_COOKIE, token)
    answer = await client.post("/auth/logout", headers={"Origin": EVIL})
    assert answer.status_code == 403 and "set-cookie" not in answer.headers
    with session_scope() as session:
        assert auth.user_for_token(session, token) is not None


async def test_first_admin_setup_posted_from_another_origin_creates_nobody(client):
    answer = await client.post(
        "/auth/setup",
        data={"email": ATTACKER, "password": ATTACKER_PASSWORD, "confirm": ATTACKER_PASSWORD},
        headers={"Origin": "null"},
    )
    assert answer.headers["location"].startswith("/setup?error=origin")
    with session_scope() as session:
        assert session.exec(select(User)).all() == []


# ---------------------------------------------------------------- 8: the sandbox's control API


async def test_sandbox_control_needs_an_admin_or_the_control_token(client, monkeypatch):
    monkeypatch.setenv("ROUTY_SANDBOX_CONTROL_TOKEN", "per-start-random-token")
    reload_settings()
    assert (await client.get("/sandbox/_control/tokens")).status_code == 403
    assert (await client.post("/sandbox/_control/reset")).status_code == 403
    assert (await client.get("/sandbox/_control/tokens", headers={CONTROL_TOKEN_HEADER: "wrong"})).status_code == 403
    assert (
        await client.get("/sandbox/_control/tokens", headers={CONTROL_TOKEN_HEADER: "per-start-random-token"})
    ).status_code == 200
    _user("viewer@example.com", PASSWORD, "viewer")
    client.cookies.set(auth.SESSION_COOKIE, _token("viewer@example.com"))
    assert (await client.get("/sandbox/_control/tokens")).status_code == 403
    _user(ADMIN, PASSWORD)
    client.cookies.set(auth.SESSION_COOKIE, _token())
    assert (await client.get("/sandbox/_control/tokens")).status_code == 200
    assert (await client.get("/sandbox/")).status_code == 200  # the emulated providers stay open


# ---------------------------------------------------------------- 10: CSV formula injection


async def test_csv_export_neutralises_formula_cells(client):
    _user(ADMIN, PASSWORD)
    client.cookies.set(auth.SESSION_COOKIE, _token())
    names = ['=HYPERLINK("http://evil.example","Click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "Plain"]
    with session_scope() as session:
        integration = Integration(traffic_source_id=1, provider="google_ads", status="active", account_currency="USD")
        session.add(integration)
        session.commit()
        for n, name in enumerate(names):
            session.add(
                MetricRow(
                    integration_id=integration.id,
                    level="campaign",
                    date=dt.date(2026, 11, 1),
                    campaign_id=f"=c{n}",
                    campaign_name=name,
                    impressions=10,
                    clicks=n,
                )
            )
        session.commit()
        integration_id = integration.id
    answer = await client.get(f"/api/metrics/{integration_id}/export.csv?start=2026-11-01&end=2026-11-01&sort=name")
    assert answer.status_code == 200
    import csv
    import io

    rows = list(csv.reader(io.StringIO(answer.text)))[1:]
    cells = {row[1] for row in rows}
    assert cells == {"'" + n for n in names[:4]} | {"Plain"}
    assert all(row[0].startswith("'=") for row in rows)


# ---------------------------------------------------------------- 12: codes, not text, in the URL


async def test_failed_sign_in_redirects_with_a_code_not_text(client):
    answer = await client.post("/auth/login", data={"email": "nobody@example.com", "password": "x" * 12})
    assert answer.headers["location"].startswith("/login?error=wrong&")
    assert auth.form_message("wrong") == "Email or password is incorrect."
    assert auth.form_message("Your account is suspended. Call +1 555 0100") == ""


async def test_oauth_refusal_redirects_with_a_code_not_provider_text(client):
    answer = await client.get("/oauth/google_ads/callback?state=forged&error=x&error_description=Call+us")
    location = answer.headers["location"]
    assert "oauth_error=invalid_link" in location and "Call" not in location


# ---------------------------------------------------------------- 13: client address, rate limit


async def _failed_sign_ins(client, n: int, forwarded_for: str) -> None:
    for i in range(n):
        await client.post(
            "/auth/login",
            data={"email": f"user{i}@example.com", "password": "wrong-password-1A"},
            headers={"X-Forwarded-For": forwarded_for},
        )


async def test_behind_a_trusted_proxy_one_client_cannot_lock_out_another(client, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "198.51.100.0/24")  # the test client's address is the proxy
    reload_settings()
    _user(ADMIN, PASSWORD)
    await _failed_sign_ins(client, 20, "203.0.113.66")
    with session_scope() as session:
        assert {a.ip for a in session.exec(select(LoginAttempt))} == {"203.0.113.66"}
    answer = await client.post(
        "/auth/login", data={"email": ADMIN, "password": PASSWORD}, headers={"X-Forwarded-For": "192.0.2.10"}
    )
    assert answer.status_code == 303 and answer.cookies.get(auth.SESSION_COOKIE)


async def test_forwarded_for_is_ignored_from_an_untrusted_peer(client):
    _user(ADMIN, PASSWORD)
    await _failed_sign_ins(client, 3, "192.0.2.10")
    with session_scope() as session:
        assert {a.ip for a in session.exec(select(LoginAttempt))} == {"198.51.100.20"}


async def test_a_burst_from_one_address_waits_seconds_not_a_lockout(client, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "198.51.100.0/24")
    reload_settings()
    _user(ADMIN, PASSWORD)
    await _failed_sign_ins(client, auth.MAX_IP_FAILURES, "203.0.113.66")
    answer = await client.post(
        "/auth/login", data={"email": ADMIN, "password": PASSWORD}, headers={"X-Forwarded-For": "203.0.113.66"}
    )
    location = answer.headers["location"]
    assert "error=locked" in location and "wait=" in location
    assert 0 < int(location.split("wait=")[1].split("&")[0]) <= 60
    with session_scope() as session:  # a minute later the address may try again
        for attempt in session.exec(select(LoginAttempt)):
            attempt.at -= dt.timedelta(seconds=61)
            session.add(attempt)
        session.commit()
    answer = await client.post(
        "/auth/login", data={"email": ADMIN, "password": PASSWORD}, headers={"X-Forwarded-For": "203.0.113.66"}
    )
    assert answer.cookies.get(auth.SESSION_COOKIE)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example",
        "/\\/evil.example",
        "/\t/evil.example",
        "https://evil.example/",
        "/%0a/evil.example",
    ],
)
async def test_sign_in_never_redirects_off_site(client, target):
    _user(ADMIN, PASSWORD)
    answer = await client.post("/auth/login", data={"email": ADMIN, "password": PASSWORD, "next": target})
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location == "/" or (target == "/%0a/evil.example" and location == target)
