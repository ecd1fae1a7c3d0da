"""A push process killed mid-push (SIGKILL, no cleanup): nothing is lost, and Google counts each event once.

The sandbox is served over real HTTP (uvicorn, free port) from the test's SandboxState, so a child
process running the real push engine against the same database talks to the same emulator. The child
is killed while Google has ingested its first request but not yet answered it (fault `answer_lost`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlmodel import select

from routy_app.db import session_scope
from routy_app.models import SyncRun
from routy_app.services import push
from tests.integration.factories import hub  # noqa: F401 - fixture
from tests.integration.processes import served_sandbox  # noqa: F401 - fixture
from tests.integration.test_push import ingest, mapped, statuses

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import asyncio, sys
from routy_app.services import push
from routy_app.services.hub import default_hub
asyncio.run(push.run_push(default_hub(), int(sys.argv[1]), "manual"))
"""


async def test_a_push_process_killed_mid_request_loses_nothing_and_counts_nothing_twice(
    hub, sandbox_state, served_sandbox
):
    integration_id, _ = await mapped(hub)
    ingest(5000, gclid="Cj0-{i}")  # three Data Manager requests: 2,000 + 2,000 + 1,000
    answer_lost = sandbox_state.faults.add("datamanager.ingest", "answer_lost", seconds=120)
    received = sandbox_state.received["google_ads"]

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(integration_id)],
        cwd=ROOT,
        env={**os.environ, "PUBLIC_URL": served_sandbox.url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
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

    # The dead process's push lock has most of its minute left, but its holder is provably gone: the next
    # push takes it over at once and closes the dead run as interrupted.
    summary = await push.run_push(hub, integration_id)
    assert summary.sent == 5000 and statuses(integration_id) == {"sent": 5000}
    sends = Counter(event["transactionId"] for event in received)
    assert set(sends) == {f"1:ord-{i}" for i in range(5000)}  # every conversion reached Google ...
    assert sorted(sends.values()) == [1] * 3000 + [2] * 2000  # ... the first request's events twice on the wire,
    counted = [e for e in received if e["processingError"] != "PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID"]
    assert len(counted) == 5000  # ... and Google counts each one once (same transactionId on the resend)
    with session_scope() as session:
        dead = session.exec(
            select(SyncRun).where(SyncRun.integration_id == integration_id).order_by(SyncRun.id)
        ).first()
    assert dead.status == "interrupted" and f"pid {child.pid}" in dead.error
