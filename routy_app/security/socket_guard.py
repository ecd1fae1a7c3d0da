"""The Reflex event socket (`/_event`): only for PUBLIC_URL's origin, and never given the cookie.

Cross-site WebSocket hijacking: a page on another origin (even another port of the same host, which
is the same *site*, so SameSite=Lax cookies ride along) can open our socket with the victim's
cookie and send events. Browsers always send `Origin` on a WebSocket handshake, so a handshake from
any other origin is refused with HTTP 403 (`websocket.close` before accept) before Reflex sees it.

The session cookie never reaches Reflex: Reflex copies the handshake's headers into every client's
state, which a state manager may write to disk or Redis. We replace the Cookie header with
`x-routy-session-ref`, the SHA-256 of the session token: the key the sessions table is looked up by,
which is useless as a credential (no route accepts it; this layer overwrites any sent by a client).

Memory: Reflex keeps a UI state per socket (one client token each) for an hour, so new sockets of clients
that are not signed in are limited per client address (ROUTY_SOCKET_HANDSHAKES_PER_MINUTE, 60): a stranger
can no longer grow the server's memory without bound by opening sockets; a refused handshake is an HTTP 403
like a foreign origin's. A signed-in user's sockets are not counted: reconnects of busy tabs must not lock
the team out, and the sign-in that made the session was rate limited.
"""

from __future__ import annotations

import functools
import time
from collections import deque

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.security.request_checks import client_ip
from routy_app.services import auth

_DROPPED = {b"cookie", b"authorization", b"proxy-authorization", auth.SESSION_REF_HEADER.encode()}


class HandshakeRate:
    """At most `per_minute` new sockets per client address in any minute, counted in this process."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}

    def allow(self, address: str, now: float) -> bool:
        recent = self._seen.setdefault(address, deque())
        while recent and recent[0] <= now - 60:
            recent.popleft()
        if len(recent) >= self.per_minute:
            return False
        recent.append(now)
        if len(self._seen) > 10_000:  # forget addresses that have been quiet for a minute
            self._seen = {a: q for a, q in self._seen.items() if q and q[-1] > now - 60}
        return True


class SocketGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.handshakes = HandshakeRate(get_settings().socket_handshakes_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            origin = _header(scope, b"origin")
            foreign = origin is not None and origin.lower() != get_settings().public_origin
            if foreign or not await self._may_open(scope):
                await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
                return
        # Every WebSocket here is Reflex's event socket; its HTTP (polling) form lives under its path.
        if scope["type"] == "websocket" or (
            scope["type"] == "http" and scope.get("path", "").startswith(_event_path())
        ):
            scope = {**scope, "headers": _scrubbed(scope.get("headers", []))}
        await self.app(scope, receive, send)

    async def _may_open(self, scope: Scope) -> bool:
        """A signed-in user's sockets are not counted (their sign-in was rate limited); anyone else's are."""
        cookies = "; ".join(v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"cookie")
        token = _session_token(cookies)
        if token is not None:
            signed_in: bool = await run_in_threadpool(_signed_in, token)
            if signed_in:
                return True
        return self.handshakes.allow(client_ip(HTTPConnection(scope)) or "", time.monotonic())


def _signed_in(token: str) -> bool:
    with session_scope() as session:
        return auth.user_for_token(session, token) is not None


@functools.cache
def _event_path() -> str:
    """Where Reflex mounts the event socket (under REFLEX_BACKEND_PATH when one is set)."""
    from reflex_base import constants
    from reflex_base.config import get_config

    return get_config().prepend_backend_path(str(constants.Endpoint.EVENT))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _scrubbed(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The handshake's headers without credentials, plus the session reference when signed in."""
    cookies = "; ".join(v.decode("latin-1") for k, v in headers if k == b"cookie")
    kept = [(k, v) for k, v in headers if k not in _DROPPED]
    token = _session_token(cookies)
    if token:
        kept.append((auth.SESSION_REF_HEADER.encode(), auth.session_ref(token).encode()))
    return kept


def _session_token(cookie_header: str) -> str | None:
    """Parsed the way Starlette parses cookies for our HTTP routes, so both agree on who is signed in."""
    return cookie_parser(cookie_header).get(auth.SESSION_COOKIE) or None if cookie_header else None
