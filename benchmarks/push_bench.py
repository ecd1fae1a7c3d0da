"""Conversion ingest and outbox push throughput vs a bare httpx ceiling, and peak memory.

    python -m benchmarks.push_bench --events 100000

What each figure includes:
- ingest_events_per_s: services.conversions.ingest_events in batches of 1,000 (validation, hashing of
  nothing personal, INSERT ... ON CONFLICT DO NOTHING RETURNING, outbox enqueue, commit).
- push_events_per_s: one manual push run through the real outbox: run bookkeeping (run lock, SyncRun,
  credentials), one SELECT per 10,000 due rows joined with their conversion (read as the driver's
  tuples), skip rules, OutgoingConversion, the Google adapter building the Data Manager body (2,000
  events a request) and its results (one per event, shared by the events of an accepted request),
  httpx over the ASGI transport to the in-process sandbox (which validates and records every event),
  one PushRequest row per request and one UPDATE marking its rows sent.
- bare_events_per_s: the ceiling: the same number of events posted to the same sandbox endpoint, in
  requests of 2,000 like the engine's, by a plain `for` loop over an httpx client on the same ASGI
  transport (no database, no adapter). The loop builds each request's body from plain dicts inside
  the timed section, like the engine does, and the bodies are the ones the adapter sends (same
  fields, same order, same timestamp format; only the ids differ, "bare-" for "ord-"); the first
  round checks this on what the sandbox recorded. It does not pay for formatting values (the
  timestamp string and the amount are ready-made), which is the adapter's job and counted on its side.
- ratio = push_events_per_s / bare_events_per_s (target >= 0.7).
- The work runs in rounds of 10,000 events (ingest, push run, bare loop), so load from other
  processes on the machine affects all three alike; each figure is total events / summed time.
  Both sides run in one process and share its garbage collector: a full collection (whose cost grows
  with everything the sandbox has recorded so far) lands on whichever side is allocating. A
  `gc.collect()` before each timed part (outside the timing) keeps one part's garbage, ingest's
  above all, from being collected on the next part's clock.
- peak_rss_mb: the highest resident set size of the process during the whole benchmark.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import GOOGLE_ACCOUNT, RssSampler, connect_google, fresh_environment, sandbox_hub
from routy_app.providers.google_ads.endpoints import GoogleEndpoints

INGEST_BATCH = 1000
ROUND = 10_000  # events per ingest -> push -> bare round


def _when() -> str:
    """Two hours ago in RFC 3339 with Z and microseconds: what ingest accepts and, once stored, exactly
    what the adapter sends back out (so the bare loop can post it as is)."""
    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).replace(tzinfo=None).isoformat() + "Z"


def _events(n: int, prefix: str, start: int, when: str) -> list[dict]:
    return [
        {
            "id": f"{prefix}-{i}",
            "event_type": "sale",
            "occurred_at": when,
            "value": "12.34",
            "currency": "USD",
            "gclid": f"Cj0KCQjw-{prefix}-{i:08d}",
        }
        for i in range(start, start + n)
    ]


def _ingest(events: list[dict]) -> float:
    from routy_app.db import session_scope
    from routy_app.services.conversions import ingest_events

    started = time.perf_counter()
    for offset in range(0, len(events), INGEST_BATCH):
        with session_scope() as session:
            stored = ingest_events(session, 1, events[offset : offset + INGEST_BATCH])
            assert stored[0].queued_pushes == 1
    return time.perf_counter() - started


async def _bare(
    http: httpx.AsyncClient, url: str, token: str, account_id: str, action_id: str, events: list[dict]
) -> float:
    """The ceiling: the same Data Manager request shape, posted by a plain loop."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    destination = {
        "reference": "d0",
        "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": account_id},
        "productDestinationId": action_id,
    }
    started = time.perf_counter()
    for offset in range(0, len(events), 2000):
        body = {
            "destinations": [destination],
            "encoding": "HEX",
            "validateOnly": False,
            "events": [
                {
                    "destinationReferences": ["d0"],
                    "transactionId": f"1:{e['id']}",
                    "eventTimestamp": e["occurred_at"],
                    "eventSource": "WEB",
                    "conversionValue": 12.34,
                    "currency": "USD",
                    "adIdentifiers": {"gclid": e["gclid"]},
                }
                for e in events[offset : offset + 2000]
            ],
        }
        answer = await http.post(url, json=body, headers=headers)
        assert answer.status_code == 200, answer.text[:500]
    return time.perf_counter() - started


def _check_same_payloads(state: object, i: int) -> None:
    """The sandbox recorded the same event (ids aside) from the push engine and from the bare loop."""
    ignore = {"requestId", "transactionId", "gclid", "dedupKey"}
    seen = {
        e["transactionId"]: e
        for e in state.received["google_ads"]  # type: ignore[attr-defined]
        if e["transactionId"] in (f"1:ord-{i}", f"1:bare-{i}")
    }
    pushed, bare = ({k: v for k, v in seen[f"1:{p}-{i}"].items() if k not in ignore} for p in ("ord", "bare"))
    assert pushed == bare, (pushed, bare)


async def main(n: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="routy-push-bench-") as tmp:
        fresh_environment(Path(tmp))
        from routy_app.db import session_scope
        from routy_app.models import Integration
        from routy_app.providers.retry import RetryPolicy
        from routy_app.sandbox.core.state import SandboxConfig, SandboxState
        from routy_app.services import integrations, mappings, push

        state = SandboxState(SandboxConfig())
        with RssSampler() as rss:
            async with sandbox_hub(state, RetryPolicy(max_attempts=2, initial=0.1, cap=0.1)) as hub:
                integration_id = await connect_google(hub)
                action = (await mappings.available_actions(hub, integration_id))[0]
                with session_scope() as session:
                    mappings.add_mapping(integration_id, "sale", action.id, action.name)

                with session_scope() as session:
                    creds = integrations.load_credentials(session.get(Integration, integration_id))
                url = f"{GoogleEndpoints.from_settings(hub.settings).datamanager_base_url}/v1/events:ingest"
                # Rounds interleave ingest, push and the bare ceiling so that other load on the machine
                # hits all three alike; the totals are summed.
                ingest_s = push_s = bare_s = 0.0
                for start in range(0, n, ROUND):
                    size = min(ROUND, n - start)
                    when = _when()
                    ingest_s += _ingest(_events(size, "ord", start, when))
                    gc.collect()  # each timed part starts with no garbage left over from the one before
                    started = time.perf_counter()
                    summary = await push.run_push(hub, integration_id, "manual")
                    push_s += time.perf_counter() - started
                    assert summary.sent == size and summary.failed == 0, summary
                    bare_events = _events(size, "bare", start, when)
                    gc.collect()
                    bare_s += await _bare(hub.http, url, creds.access_token, GOOGLE_ACCOUNT, action.id, bare_events)
                    if start == 0:
                        _check_same_payloads(state, start)
        return {
            "events": n,
            "ingest_events_per_s": round(n / ingest_s),
            "push_events_per_s": round(n / push_s),
            "bare_events_per_s": round(n / bare_s),
            "ratio": round(bare_s / push_s, 3),
            "peak_rss_mb": round(rss.peak_mb, 1),
        }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.events))))
