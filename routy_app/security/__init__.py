"""The HTTP layer under Reflex, hardened: one ASGI wrapper around the whole app (`secure`).

From the outside in: security headers on every answer (headers.py); the event socket only for
PUBLIC_URL's origin and never handed the session cookie (socket_guard.py); request bodies capped
while they stream (body_limit.py). Form-route origin checks and the client address behind trusted
proxies live in request_checks.py.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from routy_app.security.body_limit import BodyLimit
from routy_app.security.headers import SecurityHeaders
from routy_app.security.socket_guard import SocketGuard


def secure(app: ASGIApp) -> ASGIApp:
    """`app` behind every protection of this package (settings are read per request)."""
    return SecurityHeaders(SocketGuard(BodyLimit(app)))


__all__ = ["BodyLimit", "SecurityHeaders", "SocketGuard", "secure"]
