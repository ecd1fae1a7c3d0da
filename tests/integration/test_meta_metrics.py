"""Meta accounts and insights against the sandbox: paging, levels, sync vs async runs, exact money."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest

from routy_app.providers.errors import PermanentError, TransientError
from routy_app.providers.meta_ads.adapter import MetaAdsProvider
from routy_app.providers.meta_ads.endpoints import MetaEndpoints
from routy_app.providers.meta_ads.graph import to_micros
from routy_app.providers.values import Account, Credentials, MetricRecord
from routy_app.sandbox.core.state import SandboxState
from tests.integration.conftest import FAST_RETRY
from tests.integration.factories import meta_creds, meta_provider  # noqa: F401 - fixtures

TODAY = dt.datetime.now(dt.UTC).date()
WEEK = (TODAY - dt.timedelta(days=7), TODAY - dt.timedelta(days=1))


@pytest.fixture
def requests_seen(sandbox_http: httpx.AsyncClient) -> list[httpx.Request]:
    """Every request the adapter sends (httpx event hook on the in-process client)."""
    seen: list[httpx.Request] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request)

    sandbox_http.event_hooks["request"].append(hook)
    return seen


ACCOUNT = Account(id="act_1000000001", name="Sandbox Shop EU", currency="EUR", timezone="Europe/Berlin")


async def collect(gen) -> list[list[MetricRecord]]:
    return [page async for page in gen]


def flat(pages: list[list[MetricRecord]]) -> list[MetricRecord]:
    return [row for page in pages for row in page]


async def test_list_accounts_follows_paging_next(
    provider: MetaAdsProvider, creds: Credentials, requests_seen: list[httpx.Request]
) -> None:
    provider.ACCOUNTS_PAGE_LIMIT = 2
    accounts = await provider.list_accounts(creds)
    pages = [r for r in requests_seen if r.url.path.endswith("/me/adaccounts")]
    assert len(pages) == 3  # 5 seeded accounts at limit=2
    assert pages[1].url.params["after"] and pages[1].url.host == "sandbox.test"
    assert [a.id for a in accounts] == [f"act_100000000{i}" for i in range(1, 6)]
    eu, us = accounts[0], accounts[1]
    assert (eu.name, eu.currency, eu.timezone, eu.status) == ("Sandbox Shop EU", "EUR", "Europe/Berlin", "ENABLED")
    assert us.currency == "USD" and us.timezone == "America/Los_Angeles"
    assert {a.status for a in accounts[3:]} == {"UNSETTLED", "DISABLED"}
    assert all("access_token" not in str(r.url) for r in requests_seen)  # the token travels in a header


async def test_test_connection(provider: MetaAdsProvider, creds: Credentials) -> None:
    await provider.test_connection(creds, ACCOUNT)
    with pytest.raises(PermanentError) as caught:
        await provider.test_connection(creds, Account(id="act_42", name="x", currency="EUR", timezone="UTC"))
    assert caught.value.code == "100/33"


@pytest.mark.parametrize(("level", "per_day"), [("campaign", 3), ("ad_group", 6), ("ad", 12)])
async def test_fetch_metrics_sync_per_level(
    provider: MetaAdsProvider, creds: Credentials, level: str, per_day: int, requests_seen: list[httpx.Request]
) -> None:
    rows = flat(await collect(provider.fetch_metrics(creds, ACCOUNT, level, *WEEK)))  # type: ignore[arg-type]
    assert len(rows) == per_day * 7
    assert {r.date for r in rows} == {WEEK[0] + dt.timedelta(days=i) for i in range(7)}
    assert all(r.level == level and r.currency == "EUR" and r.campaign_id and r.impressions > 0 for r in rows)
    assert all(bool(r.ad_group_id) == (level != "campaign") and bool(r.ad_id) == (level == "ad") for r in rows)
    insights = [r for r in requests_seen if r.url.path.endswith("/insights")]
    assert all(r.method == "GET" for r in insights)  # a week is a synchronous request
    assert insights[0].url.params["level"] == {"campaign": "campaign", "ad_group": "adset", "ad": "ad"}[level]
    assert insights[0].url.params["time_increment"] == "1" and insights[0].url.params["limit"] == "500"


async def test_rows_match_graph_wire_values_exactly(
    provider: MetaAdsProvider, creds: Credentials, sandbox_http: httpx.AsyncClient, meta_endpoints: MetaEndpoints
) -> None:
    """spend and action values (decimal strings) become micros exactly; only the counted actions add up."""
    rows = flat(await collect(provider.fetch_metrics(creds, ACCOUNT, "ad", *WEEK)))
    raw = (
        await sandbox_http.get(
            f"{meta_endpoints.graph_base_url}/{meta_endpoints.api_version}/act_1000000001/insights",
            params={
                "level": "ad",
                "time_increment": "1",
                "limit": "1000",
                "time_range": json.dumps({"since": WEEK[0].isoformat(), "until": WEEK[1].isoformat()}),
                "fields": "ad_id,impressions,clicks,spend,actions,action_values",
            },
            headers={"Authorization": f"Bearer {creds.access_token}"},
        )
    ).json()["data"]
    by_key = {(r.date.isoformat(), r.ad_id): r for r in rows}
    assert len(by_key) == len(raw) == len(rows)
    counted = {"purchase", "lead", "complete_registration"}
    for wire in raw:
        mine = by_key[(wire["date_start"], wire["ad_id"])]
        assert isinstance(wire["spend"], str) and isinstance(wire["impressions"], str)
        assert mine.cost_micros == int(Decimal(wire["spend"]) * 1_000_000)
        assert mine.impressions == int(wire["impressions"]) and mine.clicks == int(wire["clicks"])
        assert mine.conversions_micros == sum(
            int(a["value"]) * 1_000_000 for a in wire.get("actions", []) if a["action_type"] in counted
        )
        assert mine.conversion_value_micros == sum(
            int(Decimal(a["value"]) * 1_000_000)
            for a in wire.get("action_values", [])
            if a["action_type"] == "purchase"
        )
    assert any(a["action_type"] == "omni_purchase" for w in raw for a in w.get("actions", []))  # not double counted


def test_spend_decimal_strings_become_exact_micros() -> None:
    assert to_micros("43.12") == 43_120_000
    assert to_micros("43.1") == 43_100_000 and to_micros("43") == 43_000_000
    assert to_micros("0.01") == 10_000 and to_micros("1234567.89") == 1_234_567_890_000
    assert to_micros("0.1") + to_micros("0.2") == to_micros("0.3")  # no float drift
    assert to_micros(None) == 0 and to_micros("") == 0


async def test_paging_returns_every_row_exactly_once(
    provider: MetaAdsProvider, creds: Credentials, requests_seen: list[httpx.Request]
) -> None:
    provider.PAGE_LIMIT = 5
    pages = await collect(provider.fetch_metrics(creds, ACCOUNT, "campaign", *WEEK))  # 21 rows
    assert [len(p) for p in pages] == [5, 5, 5, 5, 1]
    keys = [(r.date, r.campaign_id) for r in flat(pages)]
    assert len(keys) == len(set(keys)) == 21
    assert all(r.url.host == "sandbox.test" for r in requests_seen)  # paging.next built on the sandbox's base


async def test_full_last_page_then_empty_page(
    provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState, requests_seen: list[httpx.Request]
) -> None:
    sandbox_state.config.campaigns_per_account = 2
    provider.PAGE_LIMIT = 7
    pages = await collect(provider.fetch_metrics(creds, ACCOUNT, "campaign", *WEEK))  # 14 rows = 2 full pages
    assert [len(p) for p in pages] == [7, 7]
    assert len([r for r in requests_seen if r.url.path.endswith("/insights")]) == 3  # the last one was data: []


async def test_range_without_data_yields_nothing(provider: MetaAdsProvider, creds: Credentials) -> None:
    future = (TODAY + dt.timedelta(days=10), TODAY + dt.timedelta(days=12))
    assert await collect(provider.fetch_metrics(creds, ACCOUNT, "campaign", *future)) == []


async def test_long_range_uses_an_async_report_run(
    provider: MetaAdsProvider,
    creds: Credentials,
    meta_endpoints: MetaEndpoints,
    sandbox_http: httpx.AsyncClient,
    requests_seen: list[httpx.Request],
) -> None:
    start, end = TODAY - dt.timedelta(days=40), TODAY - dt.timedelta(days=1)
    rows = flat(await collect(provider.fetch_metrics(creds, ACCOUNT, "ad_group", start, end)))
    posts = [r for r in requests_seen if r.method == "POST"]
    assert len(posts) == 1 and posts[0].url.path.endswith("/act_1000000001/insights")
    polls = [
        r
        for r in requests_seen
        if r.method == "GET"
        and not r.url.path.endswith("insights")
        and "/graph/" in r.url.path
        and "oauth" not in r.url.path
    ]
    assert len(polls) == 3  # Job Started -> Job Running -> Job Completed, one step per poll
    assert len(rows) == 6 * 40
    sync = MetaAdsProvider(meta_endpoints, sandbox_http, retry=FAST_RETRY)
    sync.ASYNC_AFTER_DAYS = 1000
    same = flat(await collect(sync.fetch_metrics(creds, ACCOUNT, "ad_group", start, end)))
    assert sorted(rows, key=lambda r: (r.date, r.ad_group_id)) == sorted(same, key=lambda r: (r.date, r.ad_group_id))


async def test_reduce_data_switches_to_an_async_run(
    provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState, requests_seen: list[httpx.Request]
) -> None:
    sandbox_state.faults.add("meta.insights", "reduce_data")
    rows = flat(await collect(provider.fetch_metrics(creds, ACCOUNT, "ad", *WEEK)))
    assert len(rows) == 12 * 7
    assert [r.method for r in requests_seen if r.url.path.endswith("/act_1000000001/insights")] == ["GET", "POST"]


async def test_failed_run_is_resubmitted_once(
    provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState, requests_seen: list[httpx.Request]
) -> None:
    provider.ASYNC_AFTER_DAYS = 1
    sandbox_state.faults.add("meta.report_run", "job_failed")
    rows = flat(await collect(provider.fetch_metrics(creds, ACCOUNT, "campaign", *WEEK)))
    assert len(rows) == 21
    assert len([r for r in requests_seen if r.method == "POST"]) == 2


async def test_run_failing_twice_is_a_transient_error(
    provider: MetaAdsProvider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    provider.ASYNC_AFTER_DAYS = 1
    sandbox_state.faults.add("meta.report_run", "job_failed", times=2)
    with pytest.raises(TransientError) as caught:
        await collect(provider.fetch_metrics(creds, ACCOUNT, "campaign", *WEEK))
    assert caught.value.code == "job_failed" and "Job Failed" in caught.value.message


async def test_polling_is_bounded(provider: MetaAdsProvider, creds: Credentials) -> None:
    provider.ASYNC_AFTER_DAYS = 1
    provider.MAX_POLLS = 2  # the sandbox needs three polls to complete
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    provider.retry = type(FAST_RETRY)(max_attempts=4, initial=0, cap=0, sleep=record)
    with pytest.raises(TransientError) as caught:
        await collect(provider.fetch_metrics(creds, ACCOUNT, "campaign", *WEEK))
    assert caught.value.code == "report_timeout"
    assert slept == [1.0, 2.0]  # backoff between polls goes through the policy's sleep


async def test_keyword_level_does_not_exist(provider: MetaAdsProvider, creds: Credentials) -> None:
    with pytest.raises(PermanentError):
        await collect(provider.fetch_metrics(creds, ACCOUNT, "keyword", *WEEK))


async def test_insights_never_ask_for_removed_attribution_windows(
    provider: MetaAdsProvider,
    creds: Credentials,
    meta_endpoints: MetaEndpoints,
    sandbox_http: httpx.AsyncClient,
    requests_seen: list[httpx.Request],
) -> None:
    """7d_view and 28d_view left Ads Insights on 2026-01-12: no sync or async request of ours names them,
    and the sandbox refuses a request that does, as Meta does."""
    for level in ("campaign", "ad_group", "ad"):
        await collect(provider.fetch_metrics(creds, ACCOUNT, level, *WEEK))
    await collect(provider.fetch_metrics(creds, ACCOUNT, "campaign", TODAY - dt.timedelta(days=60), TODAY))  # async
    insights = [r for r in requests_seen if "insights" in r.url.path]
    assert insights and any(r.method == "POST" for r in insights)
    for request in insights:
        text = str(request.url) + request.content.decode()
        assert "7d_view" not in text and "28d_view" not in text
    refused = await sandbox_http.get(
        f"{meta_endpoints.graph_base_url}/{meta_endpoints.api_version}/{ACCOUNT.id}/insights",
        params={"fields": "spend", "action_attribution_windows": '["1d_click","7d_view"]'},
        headers={"Authorization": f"Bearer {creds.access_token}"},
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 100
    assert "7d_view" in refused.json()["error"]["message"]
