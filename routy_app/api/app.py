"""The Starlette app handed to Reflex as `api_transformer`: our routes win over the UI's."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from routy_app.api import auth_routes
from routy_app.api import conversions as conversion_routes
from routy_app.api import exports
from routy_app.api.health import healthz
from routy_app.api.oauth import oauth_callback
from routy_app.config import get_settings


def build_api() -> Starlette:
    """Health, OAuth callbacks and the ingest API; the provider sandbox only in sandbox mode."""
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/oauth/{provider}/callback", oauth_callback, methods=["GET"]),
        *auth_routes.routes(),
        *conversion_routes.routes(),  # Bearer API key / postback key, not a user session
        *exports.routes(),
    ]
    if get_settings().is_sandbox:
        routes.append(Mount("/sandbox", app=_sandbox()))
    return Starlette(routes=routes)


def _sandbox() -> Starlette:
    """The emulator, signing its tokens with a key derived from ours so they survive restarts."""
    import hashlib

    from routy_app.crypto import get_box
    from routy_app.sandbox.app import build_sandbox_app
    from routy_app.sandbox.state import SandboxConfig, SandboxState

    secret = hashlib.sha256(b"routy-sandbox-tokens:" + get_box().key_fingerprint()).digest()
    return build_sandbox_app(SandboxState(SandboxConfig(), secret=secret))
