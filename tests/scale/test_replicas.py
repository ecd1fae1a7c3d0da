"""Two replicas on PostgreSQL and Redis behind HAProxy, in real Chromium through the balancer (issue 16).

In file order, on one cluster: one leader; sign-in and the OAuth callback on the other replica; Sync Now
from two browsers on different replicas at once; kill -9 of the leader and the takeover time; 5,000
conversions round robin while a replica is killed and restarted, each pushed exactly once per mapping;
/metrics agreeing on every replica; JSON logs with no secret in them.

To send a browser to one replica the test uses HAProxy's runtime API as an operator would in a rolling
restart (the other replica in maintenance, its connections cut); otherwise requests go round robin.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import threading
import time

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text

from tests.e2e.helpers import CARDS, card, expect_status, pick_account
from tests.scale.cluster import ADMIN_EMAIL, ADMIN_PASSWORD, METRICS_TOKEN, Replica, until
from tests.scale.conftest import FIGURES, Cluster

expect.set_options(timeout=45_000)  # two replicas, Chromium, PostgreSQL and Redis share two cores

CONVERSIONS = 5000
BATCH = 10  # events per ingest request: 500 requests, round robin over the replicas
KILL_AFTER = 150  # acknowledged requests before a replica is killed


def sql(query: str, **params):
    from routy_app.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(text(query), params).all()


@pytest.fixture(autouse=True)
def _in_file_order(browser: Browser) -> None:
    """Every test takes pytest-playwright's (parametrised) browser, so pytest keeps them in file order: they
    build on each other (the account connected first, the 5,000 conversions before the metrics check)."""


def in_thread(coroutine_function):
    """Run an async function to completion in a thread of its own (pytest-playwright holds this one's loop)."""
    result: dict = {}

    def run() -> None:
        try:
            result["value"] = asyncio.run(coroutine_function())
        except BaseException as exc:  # noqa: BLE001 - raised again below
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def leader(cluster: Cluster) -> Replica | None:
    """The replica whose process holds the scheduler lease (None while nobody does)."""
    rows = sql("SELECT pid FROM lease WHERE name = 'scheduler' AND expires_at > now()")
    if not rows:
        return None
    owners = [r for r in cluster.replicas.values() if rows[0][0] in r.pids()]
    return owners[0] if owners else None


def documents(page: Page) -> list[tuple[str, str | None]]:
    """(url, replica that served it) of every document the page loads, in order."""
    seen: list[tuple[str, str | None]] = []
    page.on(
        "response",
        lambda r: (
            seen.append((r.url, r.headers.get("x-routy-replica"))) if r.request.resource_type == "document" else None
        ),
    )
    return seen


def served_by(seen: list[tuple[str, str | None]], pattern: str) -> str | None:
    hits = [replica for url, replica in seen if re.search(pattern, url)]
    return hits[-1] if hits else None


def signed_in_page(browser: Browser, cluster: Cluster) -> tuple[Page, list]:
    context = browser.new_context(base_url=cluster.url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    seen = documents(page)
    page.goto("/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".provider-card")).to_have_count(CARDS)
    return page, seen


def test_one_scheduler_leader_among_the_replicas(cluster: Cluster):
    who = until(lambda: leader(cluster), 90, "a scheduler leader")
    assert sql("SELECT count(*) FROM lease WHERE name = 'scheduler'")[0][0] == 1
    FIGURES["first_leader"] = who.name
    for replica in cluster.replicas.values():
        ready = httpx.get(f"{replica.url}/readyz", timeout=10).json()
        assert ready["ready"] and ready["db"] and ready["redis"], ready
    assert set(cluster.balancer.status().values()) == {"UP"}


def test_sign_in_and_the_oauth_callback_on_the_other_replica(cluster: Cluster, browser: Browser):
    lb = cluster.balancer
    lb.only("app1")
    page, seen = signed_in_page(browser, cluster)
    assert served_by(seen, r"/auth/login$") == "app1"

    lb.only("app2")  # the next request, and the event socket's reconnection, land on the other replica
    page.reload()
    expect(page.locator(".provider-card")).to_have_count(CARDS)  # still signed in: no redirect to /login
    assert served_by(seen, r"/$|/sources/") == "app2" and "/login" not in page.url

    card(page, "Google Ads").get_by_role("button", name=re.compile(r"^Connect")).click()  # OAuth starts on app2
    page.wait_for_url(re.compile(r"/sandbox/google/"))
    lb.only("app1")
    page.get_by_role("button", name="Allow", exact=True).click()
    page.wait_for_url(re.compile(r"/sources/\d+\?"))
    assert served_by(seen, r"/oauth/google_ads/callback") == "app1"
    pick_account(page, "Routy Shop US")
    expect_status(page, "Google Ads", "Active")
    lb.both()
    page.context.close()
    FIGURES["sign_in_on"], FIGURES["signed_in_request_on"] = "app1", "app2"
    FIGURES["oauth_started_on"], FIGURES["oauth_callback_on"] = "app2", "app1"


def _open_sync_tab(page: Page) -> None:
    card(page, "Google Ads").get_by_role("link", name=re.compile(r"^Settings")).click()
    dialog = page.get_by_role("region", name="Google Ads settings")
    dialog.get_by_role("tab", name="Sync", exact=True).click()
    expect(dialog.get_by_role("button", name="Sync Now")).to_be_enabled()


def test_sync_now_from_two_browsers_on_different_replicas_runs_once(cluster: Cluster, browser: Browser):
    integration = sql("SELECT id FROM integration WHERE provider = 'google_ads'")[0][0]
    until(
        lambda: (
            not sql("SELECT 1 FROM syncrun WHERE integration_id = :i AND status = 'running'", i=integration)
            and sql("SELECT 1 FROM syncrun WHERE integration_id = :i", i=integration)
        ),
        180,
        "the first pull after linking the account to finish",
    )
    cluster.sandbox.control("POST", "/config", days=30, keywords_per_ad_group=150)  # a pull of several seconds
    lb = cluster.balancer
    try:
        pages = []
        for name in ("app1", "app2"):  # each browser's page and event socket on its own replica
            lb.only(name, cut=False)
            page, seen = signed_in_page(browser, cluster)
            assert served_by(seen, r"/$|/sources/") == name
            _open_sync_tab(page)
            pages.append(page)
        lb.both()
        before = sql("SELECT count(*) FROM syncrun WHERE integration_id = :i AND kind = 'pull'", i=integration)[0][0]
        for page in pages:  # one click right after the other, neither waiting for its answer
            page.get_by_role("region", name="Google Ads settings").get_by_role("button", name="Sync Now").click(
                no_wait_after=True
            )
        results = []
        for page in pages:
            result = page.get_by_role("region", name="Google Ads settings").locator("#sync-result")
            expect(result).to_be_visible(timeout=180_000)
            results.append(result.inner_text())
        # The browser whose click lost is told so, or (the Sync tab follows a run it did not start) shown how
        # the other browser's run ended.
        told = [r for r in results if "already running" in r or "that was running ended" in r]
        ran = [r for r in results if re.search(r"\d[\d,]* rows", r)]
        assert len(told) == 1 and len(ran) == 1, results
        after = sql("SELECT count(*) FROM syncrun WHERE integration_id = :i AND kind = 'pull'", i=integration)[0][0]
        assert after - before == 1
        for page in pages:
            page.context.close()
    finally:
        cluster.sandbox.control("POST", "/config", days=90, keywords_per_ad_group=3)
    FIGURES["sync_now_two_browsers"] = {"runs": after - before, "told_running": len(told), "told": told[0].strip()}


def test_leader_killed_the_other_replica_takes_over(cluster: Cluster):
    old = until(lambda: leader(cluster), 90, "a scheduler leader")
    new = cluster.other(old)
    killed_at = old.kill9()
    until(lambda: leader(cluster) is new, 180, f"{new.name} to take the scheduler lease", every=0.1)
    takeover = time.monotonic() - killed_at
    FIGURES["leader_takeover_seconds_after_kill9"] = round(takeover, 1)
    FIGURES["leader_takeover"] = f"{old.name} killed, {new.name} leads"
    restarted = time.monotonic()
    old.start()
    old.wait_ready()
    cluster.balanced()
    FIGURES["killed_replica_back_seconds"] = round(time.monotonic() - restarted, 1)
    # Production defaults: followers try to lead every lease TTL / 3 (20 s); a dead holder on the same machine
    # is reclaimed at once, on another machine when its 60 s lease expires.
    assert takeover < 25
    assert leader(cluster) is new  # the restarted replica follows
    _assert_no_pull_ran_twice(cluster)


def _assert_no_pull_ran_twice(cluster: Cluster) -> None:
    overlapping = sql(
        "SELECT count(*) FROM syncrun a JOIN syncrun b ON a.integration_id = b.integration_id "
        "AND a.kind = b.kind AND a.id < b.id AND b.started_at < coalesce(a.finished_at, now()) "
        "AND a.started_at < coalesce(b.finished_at, now()) WHERE a.kind = 'pull'"
    )[0][0]
    watch = cluster.sandbox.watch()
    assert overlapping == 0 and all(n == 1 for n in watch["most_in_flight"].values()), watch
    FIGURES["pull_reports_most_in_flight_per_customer"] = max(watch["most_in_flight"].values(), default=0)


def _seed_push() -> dict[str, int]:
    """GA4 beside Google Ads on source 1 and "sale" mapped on both: {provider: integration id}."""
    from routy_app.services import integrations, mappings
    from routy_app.services.hub import default_hub

    async def setup() -> dict[str, int]:
        hub = default_hub()
        ga4 = await integrations.setup_manual(
            hub, 1, "ga4", {"measurement_id": "G-ROUTY12345", "api_secret": "sandbox-mp-secret"}
        )
        google = sql("SELECT id FROM integration WHERE provider = 'google_ads'")[0][0]
        ids = {"google_ads": int(google), "ga4": int(ga4.id)}
        for provider, integration_id in ids.items():
            actions = await mappings.available_actions(hub, integration_id)
            action = next(a for a in actions if a.id == "purchase") if provider == "ga4" else actions[0]
            mappings.add_mapping(integration_id, "sale", action.id, action.name, {})
        await hub.http.aclose()
        return ids

    return in_thread(setup)


def _key_from_the_ui(browser: Browser, cluster: Cluster) -> str:
    """The one-time API key display, with the page served by one replica and its events by the other."""
    lb = cluster.balancer
    lb.only("app1")
    page, seen = signed_in_page(browser, cluster)
    assert served_by(seen, r"/$|/sources/") == "app1"
    with page.expect_websocket(timeout=60_000):
        lb.only("app2")  # the event socket is cut and reconnects through the balancer, to app2
    page.get_by_role("tab", name="Conversions").click()
    page.get_by_role("button", name="Create / rotate key").click()
    key = page.locator("#api-key-new").inner_text()
    assert key.startswith("rk_")
    expect(page.locator("#api-key-masked")).to_contain_text(key[-4:])
    page.get_by_role("dialog", name="New API key").get_by_role("button", name="Done").click()
    expect(page.locator("#api-key-new")).to_have_count(0)
    lb.both()
    page.context.close()
    FIGURES["api_key_page_on"], FIGURES["api_key_events_on"] = "app1", "app2"
    return key


class Ingest:
    """Sends the CONVERSIONS events in batches of BATCH through the balancer from an event loop in a thread
    of its own, 8 requests at a time, resending a batch until it is acknowledged (the ingest API is
    idempotent by event id). `send(first, last, per_second)` sends batches [first, last) and returns
    {replica: requests it acknowledged}."""

    def __init__(self, url: str, key: str) -> None:
        self.url, self.key = url, key
        self.acknowledged: set[str] = set()
        self.resends = 0
        when = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
        self.batches = [
            [
                {
                    "id": f"scale-{i}",
                    "event_type": "sale",
                    "occurred_at": when,
                    "value": "12.50",
                    "currency": "USD",
                    "gclid": f"Cj0KCQ-scale-{i}",
                    "ga_client_id": f"555.{i}",
                }
                for i in range(start, start + BATCH)
            ]
            for start in range(0, CONVERSIONS, BATCH)
        ]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def send(self, first: int, last: int, per_second: float | None = None) -> dict[str, int]:
        return asyncio.run_coroutine_threadsafe(self._send(first, last, per_second), self.loop).result(timeout=900)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    async def _send(self, first: int, last: int, per_second: float | None) -> dict[str, int]:
        queue: asyncio.Queue = asyncio.Queue()
        for batch in self.batches[first:last]:
            queue.put_nowait(batch)
        by_replica: dict[str, int] = {}
        async with httpx.AsyncClient(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.key}"}
        ) as client:
            await asyncio.gather(*(self._worker(client, queue, by_replica, per_second) for _ in range(8)))
        return by_replica

    async def _worker(
        self, client: httpx.AsyncClient, queue: asyncio.Queue, by_replica: dict[str, int], per_second: float | None
    ) -> None:
        while not queue.empty():
            batch = queue.get_nowait()
            began = time.monotonic()
            for attempt in range(200):
                try:
                    answer = await client.post("/api/v1/conversions", json=batch)
                except httpx.HTTPError:
                    answer = None
                if answer is not None and answer.status_code == 200:
                    events = answer.json()["events"]
                    self.acknowledged.update(
                        e["external_id"] for e in events if e["status"] in ("created", "duplicate")
                    )
                    replica = answer.headers.get("x-routy-replica", "?")
                    by_replica[replica] = by_replica.get(replica, 0) + 1
                    break
                self.resends += 1
                await asyncio.sleep(min(2.0, 0.1 * (attempt + 1)))  # backoff before resending
            else:
                raise AssertionError(f"batch {batch[0]['id']} never acknowledged")
            if per_second:  # a steady load: each of the 8 senders keeps to its share of the rate
                await asyncio.sleep(max(0.0, 8 / per_second - (time.monotonic() - began)))


def _received(cluster: Cluster) -> dict[str, tuple[dict[str, int], int]]:
    """Per provider: ({dedup key: times the provider counted it}, repeats it received and refused as such).

    Both providers deduplicate, and the sandbox does as they do: the Data Manager API refuses a repeated
    transactionId (PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID) and GA4 keeps one purchase per
    transaction_id (support.google.com/analytics/answer/12313109). A repeat is a push resent because its
    answer was lost (a request in flight when its replica was killed): on the wire, not counted."""
    data = cluster.sandbox.control("GET", "/received")["received"]
    google: dict[str, int] = {}
    google_repeats = 0
    for event in data["google_ads"]:
        if (event.get("processingError") or "").endswith("DUPLICATE_TRANSACTION_ID"):
            google_repeats += 1
        elif not event.get("processingError"):
            google[event["dedupKey"]] = google.get(event["dedupKey"], 0) + 1
    ga4: dict[str, int] = {}
    ga4_repeats = 0
    for event in data["ga4"]:
        key = str(event.get("transaction_id"))
        ga4[key] = ga4.get(key, 0) + 1
        ga4_repeats += int(event.get("duplicates") or 0)
    return {"google_ads": (google, google_repeats), "ga4": (ga4, ga4_repeats)}


def test_5000_conversions_round_robin_with_a_replica_killed_and_restarted(cluster: Cluster, browser: Browser):
    """Three phases of one stream of 500 requests: both replicas up; the leader (which pushes) killed -9
    and restarting while a steady load goes on; both up again."""
    integrations = _seed_push()
    key = _key_from_the_ui(browser, cluster)
    cluster.balanced()
    ingest = Ingest(cluster.url, key)
    started = time.monotonic()
    try:
        before = ingest.send(0, KILL_AFTER)
        victim = until(lambda: leader(cluster), 90, "a scheduler leader")
        victim.kill9()
        victim.start()
        during = ingest.send(KILL_AFTER, KILL_AFTER + 150, per_second=10)  # ~15 s while it is down
        victim.wait_ready()
        cluster.balanced()
        after = ingest.send(KILL_AFTER + 150, len(ingest.batches))
    finally:
        ingest.close()
    FIGURES["conversions_ingest_seconds"] = round(time.monotonic() - started, 1)
    FIGURES["conversions_replica_killed"] = f"{victim.name} (the leader) after {KILL_AFTER} of 500 requests"
    FIGURES["conversions_requests_by_replica"] = {
        "before the kill": before,
        "while it was down": during,
        "after its restart": after,
    }
    assert set(before) == {"app1", "app2"} and during.get(cluster.other(victim).name)
    assert after.get(victim.name), after  # the restarted replica takes its share again

    def drained() -> bool:
        waiting = sql("SELECT count(*) FROM conversionpush WHERE next_attempt_at IS NOT NULL")[0][0]
        counts = _received(cluster)
        return waiting == 0 and all(len(counts[p][0]) >= len(ingest.acknowledged) for p in integrations)

    until(drained, 600, "every acknowledged conversion to be pushed", every=2)
    FIGURES["conversions_all_pushed_seconds"] = round(time.monotonic() - started, 1)
    counts = _received(cluster)
    stored = sql("SELECT count(*) FROM conversion WHERE external_id LIKE 'scale-%'")[0][0]
    wanted = {f"1:{i}" for i in ingest.acknowledged}
    figures = {
        "sent": CONVERSIONS,
        "acknowledged": len(ingest.acknowledged),
        "stored": stored,
        "resent_requests": ingest.resends,
    }
    for provider in integrations:
        seen, repeats = counts[provider]
        keys = {k for k in seen if k in wanted or k in ingest.acknowledged}
        figures[f"{provider}_pushed"] = len(keys)
        figures[f"{provider}_duplicated"] = sum(n - 1 for n in seen.values())  # counted twice by the provider
        figures[f"{provider}_missing"] = len(ingest.acknowledged) - len(keys)
        figures[f"{provider}_resent_refused_as_repeats"] = repeats
    FIGURES["conversions"] = figures
    assert len(ingest.acknowledged) == CONVERSIONS == stored
    for provider in integrations:
        assert figures[f"{provider}_missing"] == 0 and figures[f"{provider}_duplicated"] == 0, figures
    _assert_no_pull_ran_twice(cluster)


def test_every_replica_answers_the_same_metrics(cluster: Cluster):
    from prometheus_client.parser import text_string_to_metric_families

    def scrape(url: str) -> dict:
        answer = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30)
        assert answer.status_code == 200, answer.text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text)
            for s in family.samples
        }

    assert httpx.get(f"{cluster.url}/metrics", timeout=10).status_code == 401
    scraped = {name: scrape(r.url) for name, r in cluster.replicas.items()}
    shared = ("routy_conversions_ingested_total", "routy_conversions_pushed_total", "routy_sync_runs_total")
    first, second = ({k: v for k, v in s.items() if k[0] in shared} for s in scraped.values())
    assert first == second and first[("routy_conversions_ingested_total", (("traffic_source_id", "1"),))] == CONVERSIONS
    for provider in ("google_ads", "ga4"):
        assert first[("routy_conversions_pushed_total", (("outcome", "sent"), ("provider", provider)))] == CONVERSIONS
    assert any(k[0] == "routy_http_request_duration_seconds_count" for s in scraped.values() for k in s)
    leaders = sum(s.get(("routy_scheduler_lease_seconds_left", ()), 0) > 0 for s in scraped.values())
    assert leaders == 2  # both read the one lease, held and renewed


def test_json_logs_name_runs_and_hold_no_secret(cluster: Cluster):
    issued = cluster.sandbox.control("GET", "/tokens")["tokens"]
    assert issued
    lines = []
    for replica in cluster.replicas.values():
        text_ = replica.log_path.read_text(errors="replace")
        assert not [token for token in issued if token in text_]
        lines += [json.loads(line) for line in text_.splitlines() if line.startswith('{"time"')]
    runs = [line for line in lines if "run_id" in line]
    assert runs and all(isinstance(line["integration_id"], int) for line in runs)
    FIGURES["json_log_lines_checked"] = len(lines)
