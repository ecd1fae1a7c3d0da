"""A push process killed mid-push (SIGKILL, no cleanup): nothing is lost, and Google counts each event once.

The sandbox is served over real HTTP (uvicorn, free port) from the test's SandboxState, so a child
process running the real push engine against the same database talks to the same emulator. The child
is killed while Google has ingested its first request but not yet answered it (fault `answer_lost`).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import update
from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import Lease, SyncRun
from routy_app.sandbox.app import mounted_sandbox
from routy_app.services import push, runs
from tests.integration.factories import hub  # noqa: F401 - fixture
from tests.integration.test_push import ingest, mapped, statuses

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import asyncio, sys
from routy_app.services import push
from routy_app.services.hub import default_hub
asyncio.run(push.run_push(default_hub(), int(sys.argv[1]), "manual"))
"""


@pytest.fixture
def served_sandbox(sandbox_state):
    """The test's sandbox on a real port; yields its origin (what PUBLIC_URL points at in sandbox mode).

    The socket listens before uvicorn starts, so a client that connects early just waits in the backlog.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(mounted_sandbox(sandbox_state), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


async def test_a_push_process_killed_mid_request_loses_nothing_and_counts_nothing_twice(
        hub, sandbox_state, served_sandbox):
    integration_id, _ = await mapped(hub)
    ingest(5000, gclid="Cj0-{i}")  # three Data Manager requests: 2,000 + 2,000 + 1,000
    answer_lost = sandbox_state.faults.add("datamanager.ingest", "answer_lost", seconds=120)
    received = sandbox_state.received["google_ads"]

    child = subprocess.Popen([sys.executable, "-c", CHILD, str(integration_id)], cwd=ROOT,
                             env={**os.environ, "PUBLIC_URL": served_sandbox}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    try:
        # The sandbox sets the event once the first request is ingested and its answer held back.
        assert answer_lost.in_effect.wait(timeout=60), child.stderr.read().decode() if child.poll() is not None else ""
        assert child.poll() is None
        child.kill()  # Google has the first 2,000 events; Routy never heard back
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert len(received) == 2000 and statuses(integration_id) == {"pending": 5000}  # nothing recorded as sent

    with pytest.raises(runs.AlreadyRunning):  # the dead process still holds the push lock ...
        await push.run_push(hub, integration_id)
    with session_scope() as session:  # ... until it expires
        session.exec(update(Lease).where(Lease.name == runs.run_lock_name(integration_id, "push"))
                     .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
        session.commit()
    assert runs.close_stale_runs() == 1  # what the scheduler does at start: the dead run is closed as failed

    summary = await push.run_push(hub, integration_id)
    assert summary.sent == 5000 and statuses(integration_id) == {"sent": 5000}
    sends = Counter(event["transactionId"] for event in received)
    assert set(sends) == {f"1:ord-{i}" for i in range(5000)}  # every conversion reached Google ...
    assert sorted(sends.values()) == [1] * 3000 + [2] * 2000  # ... the first request's events twice on the wire,
    counted = [e for e in received if e["processingError"] != "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"]
    assert len(counted) == 5000  # ... and Google counts each one once (same transactionId on the resend)
    with session_scope() as session:
        dead = session.exec(select(SyncRun).where(SyncRun.integration_id == integration_id)
                            .order_by(SyncRun.id)).first()
    assert dead.status == "failed" and "stopped" in dead.error
