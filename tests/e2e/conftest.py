"""End-to-end fixtures: the real app (`reflex run --env prod --single-port`) on a free port, in
sandbox mode with its own data dir, driven by Playwright in a real Chromium.

Run in its own pytest process (pytest-playwright holds an event loop): `make test` does.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT = 240
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@routy.test", "Ops-Lead-pass-8731"
VIEWER_EMAIL, VIEWER_PASSWORD = "viewer@routy.test", "Read-Only-pass-5521"
VERSION_WARNING_DAYS = 400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _chromium() -> str | None:
    """An installed Chromium (Debian's), else None to let Playwright use its own download."""
    for candidate in (
        os.environ.get("ROUTY_CHROMIUM"),
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        shutil.which("chromium"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@dataclass
class RunningApp:
    url: str
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    pid: int = 0  # the `reflex run` process (its process group holds the server workers)

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _wait_until_healthy(proc: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            if (
                httpx.get(f"{url}/healthz", timeout=2).status_code == 200
                and httpx.get(url, timeout=5).status_code == 200
            ):
                return
        except httpx.HTTPError:
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.5)  # waits on the child, returning early if it dies
    raise RuntimeError(
        f"app did not become healthy in {START_TIMEOUT}s:\n{log_path.read_text(errors='replace')[-3000:]}"
    )


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> RunningApp:
    port = _free_port()
    data_dir = tmp_path_factory.mktemp("routy-data")
    url = f"http://localhost:{port}"
    env = {
        **os.environ,
        "ROUTY_DATA_DIR": str(data_dir),
        "PUBLIC_URL": url,
        "ROUTY_PROVIDER_MODE": "sandbox",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "ROUTY_SECRET_KEY": "e2e-test-key",
        "ROUTY_ADMIN_EMAIL": ADMIN_EMAIL,
        "ROUTY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ROUTY_SANDBOX_CONTROL_TOKEN": secrets.token_urlsafe(24),  # tests drive the sandbox with it
        # Warn a year ahead, so the newest Google Ads API version (projected sunset about November 2027)
        # shows the sunset warning the Connection tab is tested with; every version stays alive.
        "ROUTY_VERSION_WARNING_DAYS": str(VERSION_WARNING_DAYS),
        # pushes in these tests come from the buttons under test (Push now, Resume), not the minute job
        "ROUTY_PUSH_EVERY_SECONDS": "3600",
    }
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "routy_app", "migrate"], env=env, cwd=ROOT, check=True)
    subprocess.run(
        [sys.executable, "-m", "routy_app", "users", "add", VIEWER_EMAIL, "--role", "viewer", "--password-stdin"],
        env=env,
        cwd=ROOT,
        check=True,
        input=VIEWER_PASSWORD,
        text=True,
    )
    log_path = data_dir / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["reflex", "run", "--env", "prod", "--single-port", "--backend-port", str(port), "--loglevel", "warning"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_healthy(proc, url, log_path)
        yield RunningApp(url=url, data_dir=data_dir, env=env, log_path=log_path, pid=proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    args = {**browser_type_launch_args, "args": CHROMIUM_ARGS}
    executable = _chromium()
    if executable:
        args["executable_path"] = executable
    return args


def sign_in_cookie(app_server: RunningApp, email: str, password: str) -> dict:
    """Sign in through the real form endpoint and return the session cookie for a browser context."""
    with app_server.api() as client:
        answer = client.post("/auth/login", data={"email": email, "password": password, "next": "/"})
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.headers.get("location")
    token = answer.cookies.get("routy_session")
    assert token, "sign-in set no session cookie"
    return {"name": "routy_session", "value": token, "url": app_server.url, "httpOnly": True, "sameSite": "Lax"}


@pytest.fixture(scope="session")
def admin_cookie(app_server) -> dict:
    return sign_in_cookie(app_server, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def signed_out(request) -> bool:
    """Tests marked `signed_out` start without the admin session."""
    return request.node.get_closest_marker("signed_out") is not None


@pytest.fixture(autouse=True)
def _sign_in(context, app_server, admin_cookie, signed_out):
    if not signed_out:
        context.add_cookies([admin_cookie])


@pytest.fixture(autouse=True)
def _default_timeout(page):
    page.set_default_timeout(20_000)
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
