"""Crash recovery of the real app with production defaults: SIGKILL `reflex run --env prod` mid-pull and
mid-push, start it again, and time how long until the dead runs are closed, the dead process's lock no
longer refuses Sync Now, and the outbox moves again.

The provider sandbox is served from this process (it outlives the app); the app reaches it through the
endpoint settings (GOOGLE_*_URL). Its first scheduled pull is held open at the second report request and
its first push loses Google's answer (fault answer_lost), then the whole process group is SIGKILLed.

    python -m benchmarks.recovery_bench [--events 5000] [--port 3917] [--timeout 1200]

Times are seconds after the kill (and after the restart command); "-" = not reached within --timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from benchmarks.common import connect_google, fresh_environment, sandbox_hub

ROOT = Path(__file__).resolve().parents[1]
WEB_DIR = ".web-bench"  # its own build: a `make run` from this folder is left alone


def _serve(app) -> tuple[str, uvicorn.Server]:  # noqa: ANN001 - an ASGI app
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server


def _app_env(tmp: Path, port: int, sandbox_url: str) -> dict[str, str]:
    from routy_app.config import Settings
    from routy_app.providers.ga4.endpoints import GA4Endpoints
    from routy_app.providers.google_ads.endpoints import GoogleEndpoints
    from routy_app.providers.meta_ads.endpoints import MetaEndpoints

    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTY_") or k == "ROUTY_DATA_DIR"}
    env.update(
        {
            "ROUTY_DATA_DIR": str(tmp),
            "PUBLIC_URL": f"http://localhost:{port}",
            "ROUTY_PROVIDER_MODE": "sandbox",
            "ROUTY_LOG_LEVEL": "INFO",
            "REFLEX_WEB_WORKDIR": WEB_DIR,
        }
    )
    hosted = Settings(PUBLIC_URL=sandbox_url, ROUTY_PROVIDER_MODE="sandbox")  # the emulator's own process
    google, meta = GoogleEndpoints.from_settings(hosted), MetaEndpoints.from_settings(hosted)
    ga4 = GA4Endpoints.from_settings(hosted)
    env.update(
        {
            "GOOGLE_AUTH_URL": google.auth_url,
            "GOOGLE_TOKEN_URL": google.token_url,
            "GOOGLE_REVOKE_URL": google.revoke_url,
            "GOOGLE_ADS_BASE_URL": google.ads_base_url,
            "GOOGLE_DATAMANAGER_BASE_URL": google.datamanager_base_url,
            "META_DIALOG_BASE_URL": meta.dialog_base_url,
            "META_GRAPH_BASE_URL": meta.graph_base_url,
            "GA4_MP_BASE_URL": ga4.mp_base_url,
            "GA4_DATA_API_BASE_URL": ga4.data_api_base_url,
        }
    )
    return env


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            ["reflex", "run", "--env", "prod", "--single-port", "--backend-port", str(port), "--loglevel", "warning"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://localhost:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def _wait(predicate, timeout: float) -> float | None:  # noqa: ANN001
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await asyncio.to_thread(predicate):
            return time.monotonic()
        await asyncio.sleep(0.2)
    return None


async def main(events: int, port: int, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="routy-recovery-bench-") as tmp_name:
        tmp = Path(tmp_name)
        fresh_environment(tmp)
        from sqlmodel import select

        from routy_app.db import session_scope
        from routy_app.models import ConversionPush, Lease, SyncRun
        from routy_app.providers.retry import RetryPolicy
        from routy_app.sandbox.app import mounted_sandbox
        from routy_app.sandbox.core.state import SandboxConfig, SandboxState
        from routy_app.services import leases, mappings
        from routy_app.timeutil import utcnow
        from tests.integration.processes import Gate
        from tests.integration.test_push import ingest

        state = SandboxState(SandboxConfig())
        gate = Gate(mounted_sandbox(state))
        sandbox_url, server = _serve(gate)
        async with sandbox_hub(state, RetryPolicy(max_attempts=2, initial=0.1, cap=0.1)) as hub:
            integration_id = await connect_google(hub)
            action = (await mappings.available_actions(hub, integration_id))[0]
            with session_scope() as session:
                mappings.add_mapping(integration_id, "sale", action.id, action.name)
        ingest(events, gclid="Cj0-{i}")

        def running(kind: str) -> SyncRun | None:
            with session_scope() as session:
                return session.exec(select(SyncRun).where(SyncRun.kind == kind, SyncRun.status == "running")).first()

        def status(run_id: int) -> str:
            with session_scope() as session:
                return session.get(SyncRun, run_id).status

        def sent() -> int:
            with session_scope() as session:
                return len(session.exec(select(ConversionPush.id).where(ConversionPush.status == "sent")).all())

        def lock_holder() -> str | None:
            with session_scope() as session:
                lease = session.get(Lease, leases.run_lock_name(integration_id))
                return lease.holder if lease else None

        def sync_now_accepted(dead: str | None) -> bool:
            """Would Sync Now get the pull lock (now, or once the restarted app's own pull is over)?"""
            with session_scope() as session:
                lease = session.get(Lease, leases.run_lock_name(integration_id))
                return lease is None or lease.holder != dead or lease.expires_at < utcnow()

        gate.hold("googleAds:search", skip=1)
        answer_lost = state.faults.add("datamanager.ingest", "answer_lost", seconds=int(timeout))
        env = _app_env(tmp, port, sandbox_url)
        log = tmp / "app.log"
        app = _start(env, port, log)
        result: dict = {"events": events}
        try:
            started = time.monotonic()
            held = await _wait(lambda: gate.held.is_set() and answer_lost.in_effect.is_set(), 600)
            if held is None:
                raise SystemExit("the app never had a pull and a push in flight:\n" + log.read_text()[-3000:])
            result["start_to_pull_and_push_in_flight_s"] = round(held - started, 1)
            pull_run, push_run = running("pull"), running("push")
            if pull_run is None or push_run is None:
                with session_scope() as session:
                    seen = [(r.kind, r.status, r.error) for r in session.exec(select(SyncRun)).all()]
                raise SystemExit(f"expected a running pull and push, found {seen}\n" + log.read_text()[-3000:])
            dead_lock = lock_holder()
            os.killpg(app.pid, signal.SIGKILL)
            killed = time.monotonic()
            app.wait(timeout=30)
            gate.release()
            app = _start(env, port, log)
            restarted = time.monotonic()
            healthy = await _wait(lambda: _healthy(port), 600)
            marks = await asyncio.gather(
                _wait(lambda: status(pull_run.id) != "running", timeout),
                _wait(lambda: status(push_run.id) != "running", timeout),
                _wait(lambda: sync_now_accepted(dead_lock), timeout),
                _wait(lambda: sent() > 0, timeout),
            )
            names = ("pull_run_closed", "push_run_closed", "sync_now_unblocked", "outbox_moving")
            for name, mark in zip(names, marks, strict=False):
                result[f"kill_to_{name}_s"] = round(mark - killed, 1) if mark else "-"
                result[f"restart_to_{name}_s"] = round(mark - restarted, 1) if mark else "-"
            result["kill_to_app_healthy_s"] = round(healthy - killed, 1) if healthy else "-"
            result["pull_run_status"], result["push_run_status"] = status(pull_run.id), status(push_run.id)
        finally:
            if app.poll() is None:
                os.killpg(app.pid, signal.SIGINT)
                try:
                    app.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(app.pid, signal.SIGKILL)
            gate.release()
            server.should_exit = True
        return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--port", type=int, default=3917)
    parser.add_argument("--timeout", type=float, default=1200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.events, args.port, args.timeout)), indent=2))
