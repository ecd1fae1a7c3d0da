"""The providers' official SDKs as clients of our sandbox, over real HTTP.

Why: the sandbox is our reading of the providers' docs, and so are our adapters; a test that only
pairs the two cannot catch a misreading they share. Google's and Meta's own client libraries send
exactly what the real hosts accept (enum numbers, `$alt=json;enum-encoding=int`, CAPI events as
JSON-encoded strings, cursor paging) and parse what the real hosts answer, so each test here fails
when the sandbox refuses a form the real host accepts or answers in a shape the SDK cannot read.

The SDKs speak `requests` (blocking), so the sandbox runs in a uvicorn server on a thread of this
process; tests keep a handle on its `SandboxState` to mint tokens and inspect what it received.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from routy_app.sandbox.app import build_sandbox_app
from routy_app.sandbox.core.state import IssuedToken, SandboxConfig, SandboxState

GOOGLE_SCOPES = "https://www.googleapis.com/auth/adwords https://www.googleapis.com/auth/datamanager"


@dataclass
class LiveSandbox:
    """A sandbox served on 127.0.0.1:port (hosts under /datamanager, /analyticsdata, /graph, ...)."""

    url: str
    state: SandboxState

    def google_token(self, scope: str = GOOGLE_SCOPES) -> IssuedToken:
        """An access token as if the sandbox's Google OAuth server had issued it after consent."""
        return self.state.tokens.issue("google", "access", 3600, scope)

    def meta_token(self) -> IssuedToken:
        """A long-lived Meta user token, as after Facebook Login."""
        return self.state.tokens.issue(
            "meta", "access", 5_184_000, "ads_read,ads_management,business_management", prefix="EAAB"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_server() -> Iterator[tuple[str, SandboxState]]:
    """One uvicorn server per test module; its state is reset between tests (see `sandbox`)."""
    state = SandboxState(SandboxConfig())
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_sandbox_app(state), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="sandbox-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:  # set by uvicorn once the socket listens
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        thread.join(0.02)
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def sandbox(live_server) -> LiveSandbox:
    url, state = live_server
    state.reset()
    return LiveSandbox(url, state)
