"""The ASGI security layers (routy_app/security) on their own, with a stub app behind them."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest

from routy_app.config import reload_settings
from routy_app.db import session_scope
from routy_app.security.body_limit import BodyLimit
from routy_app.security.headers import SecurityHeaders, inline_script_hashes
from routy_app.security.socket_guard import HandshakeRate, SocketGuard
from routy_app.services import auth


class Recorder:
    """A stub ASGI app that reads the whole body (like `await request.body()`) and answers 200."""

    def __init__(self) -> None:
        self.scope: dict | None = None
        self.body = b""

    async def __call__(self, scope, receive, send) -> None:
        self.scope = scope
        if scope["type"] == "http":
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ConnectionResetError("client gone")
                self.body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})


def _run(app, scope: dict, chunks: list[bytes] | None = None, delay: float = 0.0) -> list[dict]:
    sent: list[dict] = []
    pending = list(chunks or [b""])

    async def receive() -> dict:
        if delay:
            await asyncio.sleep(delay)
        if not pending:
            await asyncio.sleep(3600)
        body = pending.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app({"type": "http", "method": "POST", "path": "/x", "headers": [], **scope}, receive, send))
    return sent


def _status(sent: list[dict]) -> int:
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


# ---------------------------------------------------------------- body limit


def test_declared_length_over_the_cap_never_reaches_the_app():
    app = Recorder()
    sent = _run(BodyLimit(app, max_bytes=100), {"headers": [(b"content-length", b"101")]})
    assert _status(sent) == 413 and app.scope is None


def test_unreadable_content_length_is_a_400():
    assert _status(_run(BodyLimit(Recorder()), {"headers": [(b"content-length", b"lots")]})) == 400


def test_chunked_body_is_cut_off_once_it_passes_the_cap():
    app = Recorder()
    sent = _run(BodyLimit(app, max_bytes=100), {}, [b"x" * 60, b"x" * 60, b"x" * 60])
    assert _status(sent) == 413 and len(app.body) <= 100  # the app saw the client leave, not the rest
    assert b"100 bytes" in sent[1]["body"]
    assert sum(1 for m in sent if m["type"] == "http.response.start") == 1


def test_a_body_within_the_cap_passes_untouched():
    app = Recorder()
    assert _status(_run(BodyLimit(app, max_bytes=100), {}, [b"x" * 50, b"y" * 50])) == 200
    assert app.body == b"x" * 50 + b"y" * 50


def test_a_stalled_body_is_answered_408():
    app = Recorder()
    sent = _run(BodyLimit(app, stall_seconds=0.05), {}, [b"x", b"y"], delay=0.2)
    assert _status(sent) == 408


def test_a_trickling_body_is_cut_at_the_overall_deadline():
    sent = _run(BodyLimit(Recorder(), stall_seconds=1.0, body_seconds=0.15), {}, [b"x"] * 20, delay=0.04)
    assert _status(sent) == 408


# ---------------------------------------------------------------- event socket


def _socket(headers: list[tuple[bytes, bytes]]) -> tuple[Recorder, list[dict]]:
    app = Recorder()
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "websocket.connect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/_event/", "headers": headers}
    asyncio.run(SocketGuard(app)(scope, receive, send))
    return app, sent


@pytest.fixture
def public_url(monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "http://localhost:3000")
    reload_settings()
    yield
    monkeypatch.undo()
    reload_settings()


def test_a_handshake_from_another_origin_is_closed_before_accept(public_url):
    app, sent = _socket([(b"origin", b"http://localhost:3001"), (b"cookie", b"routy_session=tok")])
    assert app.scope is None and sent == [{"type": "websocket.close", "code": 1008}]  # = HTTP 403


def test_the_socket_gets_a_session_reference_instead_of_the_cookie(db, public_url):
    app, _ = _socket(
        [
            (b"origin", b"http://localhost:3000"),
            (b"cookie", b"a=1; routy_session=tok-123"),
            (b"authorization", b"Bearer x"),
            (auth.SESSION_REF_HEADER.encode(), b"forged"),
        ]
    )
    headers = dict(app.scope["headers"])
    assert b"cookie" not in headers and b"authorization" not in headers
    assert headers[auth.SESSION_REF_HEADER.encode()] == auth.session_ref("tok-123").encode()
    assert b"tok-123" not in repr(app.scope["headers"]).encode()


def test_a_forged_reference_without_a_cookie_is_dropped(public_url):
    app, _ = _socket([(auth.SESSION_REF_HEADER.encode(), b"0" * 64)])
    assert auth.SESSION_REF_HEADER.encode() not in dict(app.scope["headers"])


def test_new_sockets_per_client_address_are_limited(db, public_url, monkeypatch):
    """Each socket costs a UI state kept for an hour: a flood from one address is refused after the
    per-minute allowance (attack report F3); another address is not affected."""
    monkeypatch.setenv("ROUTY_SOCKET_HANDSHAKES_PER_MINUTE", "5")
    reload_settings()
    guard = SocketGuard(Recorder())
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "websocket.connect"}

    async def send(message: dict) -> None:
        sent.append(message)

    def handshake(address: str, cookie: bytes = b"") -> bool:
        before = len(sent)
        headers = [(b"cookie", cookie)] if cookie else []
        scope = {"type": "websocket", "path": "/_event/", "headers": headers, "client": (address, 50000)}
        asyncio.run(guard(scope, receive, send))
        return len(sent) == before  # nothing sent by the guard: passed on to the app

    assert [handshake("203.0.113.5") for _ in range(7)] == [True] * 5 + [False] * 2
    assert sent[-1] == {"type": "websocket.close", "code": 1008}
    assert handshake("198.51.100.7")
    assert not handshake("203.0.113.5", cookie=b"routy_session=made-up")  # an unknown cookie counts as none

    with session_scope() as session:  # a signed-in user's tabs and reconnects are not counted
        auth.add_user(session, "ana@example.com", "Correct-Horse-Battery-9", "viewer")
        token = auth.sign_in(session, "ana@example.com", "Correct-Horse-Battery-9").token
    assert token and all(handshake("203.0.113.5", cookie=f"routy_session={token}".encode()) for _ in range(10))


def test_the_handshake_allowance_comes_back_after_a_minute():
    rate = HandshakeRate(2)
    assert (rate.allow("a", 0.0), rate.allow("a", 1.0), rate.allow("a", 2.0)) == (True, True, False)
    assert rate.allow("a", 60.5) and not rate.allow("a", 60.6)  # 1.0 and 60.5 are within the minute


# ---------------------------------------------------------------- headers


def test_every_answer_carries_the_security_headers(public_url):
    sent = _run(SecurityHeaders(Recorder()), {"method": "GET"})
    headers = dict(sent[0]["headers"])
    assert headers[b"x-frame-options"] == b"DENY" and headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"referrer-policy"] == b"same-origin"
    csp = headers[b"content-security-policy"].decode()
    assert "frame-ancestors 'none'" in csp and "'unsafe-eval'" not in csp
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    assert b"strict-transport-security" not in headers


def test_hsts_only_when_public_url_is_https(monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://routy.example.com")
    reload_settings()
    try:
        headers = dict(_run(SecurityHeaders(Recorder()), {"method": "GET"})[0]["headers"])
        assert headers[b"strict-transport-security"].startswith(b"max-age=")
        assert "connect-src 'self' wss://routy.example.com" in headers[b"content-security-policy"].decode()
    finally:
        monkeypatch.undo()
        reload_settings()


def test_inline_scripts_of_the_build_are_allowed_by_hash(tmp_path, public_url):
    (tmp_path / "login").mkdir()
    (tmp_path / "index.html").write_text("<script>boot()</script><script src='/a.js'></script>")
    (tmp_path / "login" / "index.html").write_text('<script type="module" async="">import("/e.js");</script>')
    expected = {base64.b64encode(hashlib.sha256(s).digest()).decode() for s in (b"boot()", b'import("/e.js");')}
    assert set(inline_script_hashes(tmp_path)) == expected
    csp = SecurityHeaders(Recorder(), build_dir=tmp_path).policy("http://localhost:3000")
    assert all(f"'sha256-{h}'" in csp for h in expected)
