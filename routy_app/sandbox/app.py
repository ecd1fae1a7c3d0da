"""Compose the emulated APIs into one Starlette app (mounted at /sandbox by the Routy backend)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

from routy_app.sandbox import ga4, google, meta, webhook
from routy_app.sandbox.core import control
from routy_app.sandbox.core.state import SandboxConfig, SandboxState


def build_sandbox_app(state: SandboxState | None = None, *, with_control: bool = True) -> Starlette:
    """A fresh emulator; `state` lets a test keep a handle on what it received."""
    state = state or SandboxState(SandboxConfig())

    async def index(_request: Request) -> HTMLResponse:
        return HTMLResponse(
            "<h1>Routy provider sandbox</h1><p>Google Ads, Data Manager, Meta Graph and GA4 emulators, and a "
            "webhook request bin (/sandbox/webhook/&lt;bin&gt;).</p>"
        )

    routes = [Route("/", index), *google.routes(state), *meta.routes(state), *ga4.routes(state), *webhook.routes(state)]
    if with_control:
        routes.append(Mount("/_control", routes=control.routes(state)))
    app = Starlette(routes=routes)
    app.state.sandbox = state
    return app


def mounted_sandbox(state: SandboxState | None = None) -> Starlette:
    """The emulator under /sandbox, as the Routy backend serves it (for in-process tests)."""
    return Starlette(routes=[Mount("/sandbox", app=build_sandbox_app(state))])
