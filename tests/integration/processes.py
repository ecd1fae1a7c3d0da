"""Real processes for crash and multi-instance tests.

- `served_sandbox`: the test's SandboxState served over real HTTP (uvicorn, free port) from the test
  process, so it outlives the app processes a test kills. Its `gate` holds chosen requests open: a
  provider call in flight at the moment of the kill.
- `AppProcess`: `python -m tests.integration.app_worker`, the app's lifespan (what every Reflex backend
  worker runs: start-up lease reclaim, scheduler leader election, pull/push jobs, sweeps) in a process of
  its own, started, SIGKILLed and started again by the test.
- `until`: wait for a condition (never a fixed sleep).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn

from routy_app.sandbox.app import mounted_sandbox

ROOT = Path(__file__).resolve().parents[2]
# Short intervals so a test sees several leases, sweeps and pushes in seconds (production: 60/60/60/10 s).
FAST = {
    "ROUTY_LEASE_TTL_SECONDS": "3",
    "ROUTY_SWEEP_SECONDS": "1",
    "ROUTY_PUSH_EVERY_SECONDS": "1",
    "ROUTY_CHANGE_POLL_SECONDS": "1",
}


class Gate:
    """An ASGI wrapper that holds requests whose path contains `path` (after letting `skip` such requests
    through; a caller's retries are held too) until `release()`: the request is in flight, its caller
    waiting for the answer. Held requests never reach the sandbox: once released they are answered 503
    (their caller is gone by then)."""

    def __init__(self, app) -> None:
        self.app = app
        self.path: str | None = None
        self.skip = 0
        self.held = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()

    def hold(self, path: str, skip: int = 0) -> None:
        with self._lock:
            self.path, self.skip = path, skip
            self.held.clear()
            self._release.clear()

    def release(self) -> None:
        with self._lock:
            self.path = None
        self._release.set()

    def _should_hold(self, path: str) -> bool:
        with self._lock:
            if self.path is None or self.path not in path:
                return False
            if self.skip:
                self.skip -= 1
                return False
            self.held.set()
            return True

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and self._should_hold(scope["path"]):
            await asyncio.to_thread(self._release.wait, 3600)
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


@dataclass
class ServedSandbox:
    url: str
    gate: Gate


@pytest.fixture
def served_sandbox(sandbox_state):
    """The test's sandbox on a real port (what PUBLIC_URL points the app processes at in sandbox mode).

    The socket listens before uvicorn starts, so a client that connects early just waits in the backlog.
    """
    gate = Gate(mounted_sandbox(sandbox_state))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(gate, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield ServedSandbox(f"http://127.0.0.1:{sock.getsockname()[1]}", gate)
    gate.release()
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@dataclass
class AppProcess:
    """One app process (the lifespan of a Reflex backend worker) with the test's database and sandbox."""

    sandbox_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PUBLIC_URL": self.sandbox_url,
            "ROUTY_PROVIDER_MODE": "sandbox",
            "ROUTY_LOG_LEVEL": "INFO",
            **self.extra_env,
        }

    def start(self) -> AppProcess:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.app_worker"],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> float:
        """SIGKILL (no cleanup of any kind) and reap; returns the monotonic time of the kill."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        at = time.monotonic()
        self.proc.wait(timeout=10)
        return at

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def app_processes(served_sandbox, tmp_path):
    """Start app processes with `start(**env)`; every one still running is stopped at the end."""
    started: list[AppProcess] = []

    def start(**env: str) -> AppProcess:
        app = AppProcess(served_sandbox.url, {**FAST, **env}, tmp_path / f"app-{len(started)}.log")
        started.append(app.start())
        return app

    yield start
    for app in started:
        app.stop()


async def until(
    predicate: Callable[[], object], timeout: float, what: str = "condition", on_fail: Callable[[], str] | None = None
) -> float:
    """Poll `predicate` (a blocking check, run off the event loop) until truthy; returns seconds waited."""
    started = time.monotonic()
    while True:
        if await asyncio.to_thread(predicate):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            detail = on_fail() if on_fail else ""
            raise AssertionError(f"{what} not reached within {timeout} s\n{detail}")
        await asyncio.sleep(0.05)
