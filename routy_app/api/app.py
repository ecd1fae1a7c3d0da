"""The Starlette app handed to Reflex as `api_transformer`: our routes win over the UI's."""

from __future__ import annotations

import hmac

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from routy_app import routes as urls
from routy_app.api import auth_routes, exports, ops
from routy_app.api import conversions as conversion_routes
from routy_app.api.health import healthz
from routy_app.api.oauth import oauth_callback
from routy_app.config import get_settings
from routy_app.db import session_scope
from routy_app.security.request_checks import from_our_origin
from routy_app.services import auth

CONTROL_TOKEN_HEADER = "x-sandbox-control-token"


def build_api() -> Starlette:
    """Health, OAuth callbacks and the ingest API; the provider sandbox only in sandbox mode."""
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        *ops.routes(),  # /readyz, /metrics
        Route(urls.OAUTH_CALLBACK, oauth_callback, methods=["GET"]),
        *auth_routes.routes(),
        *conversion_routes.routes(),  # Bearer API key / postback key, not a user session
        *exports.routes(),
    ]
    if get_settings().is_sandbox:
        routes.append(Mount("/sandbox", app=ControlGuard(_sandbox())))
    return Starlette(routes=routes)


class ControlGuard:
    """The sandbox's /_control (issued tokens, faults, reset) only for a signed-in admin, or for a
    caller holding ROUTY_SANDBOX_CONTROL_TOKEN (tests put a random one in the server's environment)
    in the `X-Sandbox-Control-Token` header. The emulated providers' own routes stay open, as the
    real ones are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")[len(scope.get("root_path", "")) :] if scope["type"] == "http" else ""
        if path.startswith("/_control") and not await _may_control(Request(scope)):
            await JSONResponse(
                {"error": "The sandbox control API needs a signed-in admin or the control token."}, status_code=403
            )(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _may_control(request: Request) -> bool:
    expected = get_settings().sandbox_control_token
    given = request.headers.get(CONTROL_TOKEN_HEADER, "")
    if expected and given and hmac.compare_digest(given.encode(), expected.encode()):
        return True
    token = request.cookies.get(auth.SESSION_COOKIE)
    if not token or not _sent_by_our_pages(request):
        return False

    def is_admin() -> bool:
        with session_scope() as session:
            return auth.can_mutate(auth.user_for_token(session, token))

    return await run_in_threadpool(is_admin)


def _sent_by_our_pages(request: Request) -> bool:
    """The cookie rides along on requests a page of another origin sends (another port of this host is the
    same site, so SameSite=Lax does not stop them): the browser must say the request came from our origin,
    and a POST must be sent as JSON, which another origin cannot do without a CORS preflight we refuse."""
    if not from_our_origin(request):
        return False
    if request.method != "POST":  # GET reads (CORS withholds the answer); PUT/DELETE always need a preflight
        return True
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == "application/json"


def _sandbox() -> Starlette:
    """The emulator, signing its tokens with a key derived from ours so they survive restarts."""
    import hashlib

    from routy_app.crypto import get_box
    from routy_app.sandbox.app import build_sandbox_app
    from routy_app.sandbox.core.state import SandboxConfig, SandboxState

    secret = hashlib.sha256(b"routy-sandbox-tokens:" + get_box().key_fingerprint()).digest()
    return build_sandbox_app(SandboxState(SandboxConfig(), secret=secret))
