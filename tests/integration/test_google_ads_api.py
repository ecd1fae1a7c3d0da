"""Google Ads API: accounts, GAQL reports (paging, encoding, query errors) and every fault, through the adapter."""

from __future__ import annotations

import datetime as dt

import pytest

from routy_app.providers.errors import AuthExpired, PermanentError, RateLimited, TransientError
from routy_app.providers.google_ads.adapter import GoogleAdsProvider
from routy_app.providers.google_ads.gaql import CUSTOMER_QUERY
from routy_app.providers.retry import RetryPolicy
from routy_app.providers.values import Account, Credentials
from routy_app.sandbox.core.state import SandboxState
from tests.integration.factories import google, google_creds  # noqa: F401 - fixtures

US, UK, MANAGER, DE, JP = "1234567890", "2345678901", "9000000001", "5550000001", "5550000002"


def _account(customer_id: str, login: str | None = None, currency: str = "USD") -> Account:
    return Account(id=customer_id, name=customer_id, currency=currency, timezone="UTC", login_customer_id=login)


def _week() -> tuple[dt.date, dt.date]:
    end = dt.date.today() - dt.timedelta(days=2)  # inside every account's history whatever its time zone
    return end - dt.timedelta(days=6), end


async def _collect(
    google: GoogleAdsProvider, creds: Credentials, account: Account, level: str, start: dt.date, end: dt.date
) -> list[list]:
    return [page async for page in google.fetch_metrics(creds, account, level, start, end)]  # type: ignore[arg-type]


async def _raw_search(
    sandbox_http,
    google_endpoints,
    creds: Credentials,
    customer: str,
    body: dict,
    login: str | None = None,
    stream: bool = False,
):
    headers = {"Authorization": f"Bearer {creds.access_token}"}
    if login:
        headers["login-customer-id"] = login
    method = "searchStream" if stream else "search"
    return await sandbox_http.post(
        f"{google_endpoints.ads_base_url}/{google_endpoints.api_version}/customers/{customer}/googleAds:{method}",
        json=body,
        headers=headers,
    )


# ---------------------------------------------------------------- accounts


async def test_list_accounts_includes_manager_children(google: GoogleAdsProvider, creds: Credentials) -> None:
    accounts = {a.id: a for a in await google.list_accounts(creds)}
    assert list(accounts) == [US, UK, MANAGER, DE, JP]
    assert (accounts[US].currency, accounts[US].timezone) == ("USD", "America/New_York")
    assert (accounts[UK].currency, accounts[UK].timezone) == ("GBP", "Europe/London")
    assert accounts[MANAGER].manager and accounts[MANAGER].login_customer_id is None
    for child, currency in ((DE, "EUR"), (JP, "JPY")):
        assert accounts[child].currency == currency and not accounts[child].manager
        assert accounts[child].login_customer_id == MANAGER and accounts[child].parent_id == MANAGER


async def test_client_needs_the_manager_as_login_customer(google: GoogleAdsProvider, creds: Credentials) -> None:
    await google.test_connection(creds, _account(DE, login=MANAGER))
    with pytest.raises(PermanentError) as exc:
        await google.test_connection(creds, _account(DE))
    assert exc.value.status_code == 403 and exc.value.code == "USER_PERMISSION_DENIED"
    assert exc.value.request_id
    with pytest.raises(PermanentError):
        await google.test_connection(creds, _account(DE, login=UK))  # not its manager


async def test_developer_token_header_is_optional(google_endpoints, sandbox_http, creds: Credentials) -> None:
    url = f"{google_endpoints.ads_base_url}/{google_endpoints.api_version}/customers:listAccessibleCustomers"
    for extra in ({}, {"developer-token": "x" * 22}):
        resp = await sandbox_http.get(url, headers={"Authorization": f"Bearer {creds.access_token}", **extra})
        assert resp.status_code == 200 and resp.headers["request-id"]
        assert resp.json() == {"resourceNames": [f"customers/{US}", f"customers/{UK}", f"customers/{MANAGER}"]}
    assert (await sandbox_http.get(url)).status_code == 401


# ---------------------------------------------------------------- reports


@pytest.mark.parametrize(("level", "per_day"), [("campaign", 3), ("ad_group", 6), ("ad", 12), ("keyword", 18)])
async def test_fetch_metrics_every_level(
    google: GoogleAdsProvider, creds: Credentials, level: str, per_day: int, sandbox_state: SandboxState
) -> None:
    sandbox_state.config.ads_per_ad_group, sandbox_state.config.keywords_per_ad_group = 2, 3
    start, end = _week()
    pages = await _collect(google, creds, _account(DE, login=MANAGER, currency="EUR"), level, start, end)
    rows = [r for page in pages for r in page]
    assert len(pages) == 1 and len(rows) == 7 * per_day
    assert {r.date for r in rows} == {start + dt.timedelta(days=i) for i in range(7)}
    assert all(r.level == level and r.currency == "EUR" and r.campaign_id.isdigit() and r.campaign_name for r in rows)
    assert all(isinstance(r.cost_micros, int) and isinstance(r.conversions_micros, int) for r in rows)
    assert sum(r.impressions for r in rows) > 0 and sum(r.cost_micros for r in rows) > 0
    if level != "campaign":
        assert all(r.ad_group_id and r.ad_group_name for r in rows)
    if level == "ad":
        assert all(r.ad_id and r.ad_name for r in rows)
    if level == "keyword":
        assert all(r.keyword_id and r.keyword_text for r in rows)
    key = {"campaign": "campaign_id", "ad_group": "ad_group_id", "ad": "ad_id", "keyword": "keyword_id"}[level]
    assert len({(getattr(r, key), r.date) for r in rows}) == len(rows)


async def test_typed_values_match_the_wire(
    google: GoogleAdsProvider,
    creds: Credentials,
    google_endpoints,
    sandbox_http,
) -> None:
    start, end = _week()
    query = (
        "SELECT campaign.id, segments.date, metrics.impressions, metrics.cost_micros, metrics.conversions, "
        f"metrics.conversions_value FROM campaign WHERE segments.date BETWEEN '{start}' AND '{end}'"
    )
    wire = (await _raw_search(sandbox_http, google_endpoints, creds, US, {"query": query})).json()
    assert (
        wire["fieldMask"] == "campaign.id,segments.date,metrics.impressions,metrics.costMicros,"
        "metrics.conversions,metrics.conversionsValue"
    )
    row = wire["results"][0]
    assert isinstance(row["campaign"]["id"], str) and row["campaign"]["resourceName"].startswith(
        f"customers/{US}/campaigns/"
    )
    assert isinstance(row["metrics"]["impressions"], str) and isinstance(row["metrics"]["costMicros"], str)
    records = [r for page in await _collect(google, creds, _account(US), "campaign", start, end) for r in page]
    match = next(
        r for r in records if r.campaign_id == row["campaign"]["id"] and r.date.isoformat() == row["segments"]["date"]
    )
    assert match.impressions == int(row["metrics"]["impressions"])
    assert match.cost_micros == int(row["metrics"]["costMicros"])
    assert match.conversions_micros == round(row["metrics"].get("conversions", 0) * 1_000_000)
    assert match.conversion_value_micros == round(row["metrics"].get("conversionsValue", 0) * 1_000_000)


async def test_paging_returns_every_row_exactly_once(
    google: GoogleAdsProvider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    config = sandbox_state.config
    config.campaigns_per_account, config.ad_groups_per_campaign, config.keywords_per_ad_group = 5, 5, 10
    config.days = 120
    end = dt.date.today() - dt.timedelta(days=2)
    start = end - dt.timedelta(days=89)
    pages = await _collect(google, creds, _account(US), "keyword", start, end)
    assert [len(p) for p in pages] == [10_000, 10_000, 2_500]  # 250 keywords x 90 days
    keys = [(r.keyword_id, r.date) for page in pages for r in page]
    assert len(set(keys)) == len(keys) == 22_500


async def test_manager_accounts_have_no_metrics(google: GoogleAdsProvider, creds: Credentials) -> None:
    start, end = _week()
    with pytest.raises(PermanentError) as exc:
        await _collect(google, creds, _account(MANAGER), "campaign", start, end)
    assert exc.value.code == "REQUESTED_METRICS_FOR_MANAGER"


async def test_search_contract_errors(sandbox_http, google_endpoints, creds: Credentials) -> None:
    start, end = _week()
    good = f"SELECT campaign.id, segments.date FROM campaign WHERE segments.date BETWEEN '{start}' AND '{end}'"

    async def error_of(body: dict) -> tuple[int, dict]:
        resp = await _raw_search(sandbox_http, google_endpoints, creds, US, body)
        failure = resp.json()["error"]["details"][0]
        assert failure["@type"].endswith("GoogleAdsFailure") and failure["requestId"]
        return resp.status_code, failure["errors"][0]["errorCode"]

    assert await error_of({"query": good, "pageSize": 100}) == (400, {"requestError": "PAGE_SIZE_NOT_SUPPORTED"})
    assert await error_of({"query": good, "pageToken": "garbage"}) == (400, {"requestError": "INVALID_PAGE_TOKEN"})
    one_sided = f"SELECT campaign.id, segments.date FROM campaign WHERE segments.date >= '{start}'"
    assert await error_of({"query": one_sided}) == (400, {"queryError": "EXPECTED_FILTERS_ON_DATE_RANGE"})
    no_range = "SELECT campaign.id, segments.date, metrics.clicks FROM campaign"
    assert await error_of({"query": no_range}) == (400, {"queryError": "EXPECTED_FILTERS_ON_DATE_RANGE"})
    assert await error_of({"query": "SELECT campaign.nope FROM campaign"}) == (
        400,
        {"queryError": "UNRECOGNIZED_FIELD"},
    )
    assert (await error_of({"query": "SELECT ad_group.id FROM campaign"}))[1] == {
        "queryError": "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"
    }
    resp = await _raw_search(sandbox_http, google_endpoints, creds, US, {"query": good, "bogus": 1})
    assert resp.status_code == 400 and "Unknown name" in resp.json()["error"]["message"]


async def test_page_token_belongs_to_its_query(
    sandbox_http,
    google_endpoints,
    creds: Credentials,
    sandbox_state: SandboxState,
) -> None:
    sandbox_state.config.keywords_per_ad_group = 300  # 3 x 2 x 300 keywords x 90 days > 10,000 rows
    start, end = dt.date.today() - dt.timedelta(days=40), dt.date.today() - dt.timedelta(days=2)
    query = (
        "SELECT ad_group_criterion.criterion_id, segments.date FROM keyword_view "
        f"WHERE segments.date BETWEEN '{start}' AND '{end}'"
    )
    first = (await _raw_search(sandbox_http, google_endpoints, creds, US, {"query": query})).json()
    token = first["nextPageToken"]
    assert len(first["results"]) == 10_000
    second = await _raw_search(sandbox_http, google_endpoints, creds, US, {"query": query, "pageToken": token})
    assert second.status_code == 200 and second.json()["results"]
    other_query = query.replace("SELECT ", "SELECT ad_group.id, ")
    other = await _raw_search(sandbox_http, google_endpoints, creds, US, {"query": other_query, "pageToken": token})
    assert other.status_code == 400
    assert other.json()["error"]["details"][0]["errors"][0]["errorCode"] == {"requestError": "INVALID_PAGE_TOKEN"}


async def test_search_stream_is_an_array_of_batches(sandbox_http, google_endpoints, creds: Credentials) -> None:
    resp = await _raw_search(
        sandbox_http,
        google_endpoints,
        creds,
        MANAGER,
        {
            "query": "SELECT customer_client.id, customer_client.level FROM customer_client "
            "WHERE customer_client.level <= 1"
        },
        login=MANAGER,
        stream=True,
    )
    batches = resp.json()
    assert isinstance(batches, list) and len(batches) == 1
    assert sorted((r["customerClient"]["id"], r["customerClient"]["level"]) for r in batches[0]["results"]) == [
        (DE, "1"),
        (JP, "1"),
        (MANAGER, "0"),
    ]
    assert batches[-1]["queryResourceConsumption"] and batches[0]["requestId"]
    denied = await _raw_search(sandbox_http, google_endpoints, creds, DE, {"query": CUSTOMER_QUERY}, stream=True)
    assert denied.status_code == 403 and isinstance(denied.json(), list) and "error" in denied.json()[0]


# ---------------------------------------------------------------- faults


class _Sleeps:
    """A retry policy sleep that records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _recording(google: GoogleAdsProvider) -> _Sleeps:
    sleeps = _Sleeps()
    google.retry = RetryPolicy(max_attempts=4, initial=0.0, cap=0.0, max_hint=120.0, sleep=sleeps)
    return sleeps


@pytest.mark.parametrize("condition", ["expired_token", "unauthenticated_no_details"])
async def test_401_faults_refresh_and_retry(
    google: GoogleAdsProvider, creds: Credentials, condition: str, sandbox_state: SandboxState, refreshed
) -> None:
    sandbox_state.faults.add("google_ads.search", condition)
    start, end = _week()
    pages = await _collect(google, creds, _account(US), "campaign", start, end)
    assert pages and refreshed  # the refreshed token went to on_refresh, for the caller to store
    assert refreshed[-1].access_token != creds.access_token


@pytest.mark.parametrize(
    ("condition", "code"), [("expired_token", "OAUTH_TOKEN_EXPIRED"), ("unauthenticated_no_details", "UNAUTHENTICATED")]
)
async def test_401_without_refresh_token_is_auth_expired(
    google: GoogleAdsProvider, creds: Credentials, condition: str, code: str, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("google_ads.list_customers", condition)
    with pytest.raises(AuthExpired) as exc:
        await google.list_accounts(Credentials(access_token=creds.access_token, scope=creds.scope))
    assert exc.value.status_code == 401 and exc.value.code == code


async def test_wrong_login_customer_fault(
    google: GoogleAdsProvider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("google_ads.search_stream", "wrong_login_customer")
    with pytest.raises(PermanentError) as exc:
        await google.test_connection(creds, _account(US))
    assert exc.value.code == "USER_PERMISSION_DENIED" and "login-customer-id" in exc.value.message


async def test_quota_429_waits_the_retry_delay_then_succeeds(
    google: GoogleAdsProvider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sleeps = _recording(google)
    sandbox_state.faults.add("google_ads.search", "quota_429", retry_delay="7s")
    start, end = _week()
    assert await _collect(google, creds, _account(US), "campaign", start, end)
    assert sleeps.waits == [7.0]


async def test_quota_429_that_persists_raises_rate_limited(
    google: GoogleAdsProvider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("google_ads.search", "quota_429", times=10)
    start, end = _week()
    with pytest.raises(RateLimited) as exc:
        await _collect(google, creds, _account(US), "campaign", start, end)
    assert exc.value.retry_after == 1.0 and exc.value.code == "RESOURCE_TEMPORARILY_EXHAUSTED"


async def test_daily_quota_is_rate_limited_until_the_reset(
    google: GoogleAdsProvider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("google_ads.search", "daily_quota", times=10)
    start, end = _week()
    with pytest.raises(RateLimited) as exc:
        await _collect(google, creds, _account(US), "campaign", start, end)
    assert exc.value.code == "RESOURCE_EXHAUSTED" and exc.value.status_code == 429
    assert 0 < (exc.value.retry_after or 0) <= 86_400


@pytest.mark.parametrize("condition", ["http_500", "http_503", "malformed"])
async def test_transient_faults_are_retried(
    google: GoogleAdsProvider, creds: Credentials, condition: str, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("google_ads.search", condition, times=2)
    start, end = _week()
    assert await _collect(google, creds, _account(US), "ad_group", start, end)
    assert sandbox_state.faults.pending() == []


@pytest.mark.parametrize("condition", ["http_500", "http_503", "malformed"])
async def test_transient_faults_that_persist_raise_transient(
    google: GoogleAdsProvider, creds: Credentials, condition: str, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("google_ads.list_customers", condition, times=10)
    with pytest.raises(TransientError):
        await google.list_accounts(creds)


async def test_503_retry_after_header_is_honoured(
    google: GoogleAdsProvider, creds: Credentials, sandbox_state: SandboxState
) -> None:
    sleeps = _recording(google)
    sandbox_state.faults.add("google_ads.list_customers", "http_503", retry_after=3)
    assert await google.list_accounts(creds)
    assert sleeps.waits == [3.0]


@pytest.mark.parametrize("after_batches", [0, 1])
async def test_stream_error_is_parsed_in_both_shapes(
    google: GoogleAdsProvider, creds: Credentials, after_batches: int, sandbox_state: SandboxState
) -> None:
    sandbox_state.faults.add("google_ads.search_stream", "stream_error", times=10, after_batches=after_batches)
    with pytest.raises(TransientError) as exc:
        await google.list_conversion_actions(creds, _account(US))
    assert exc.value.code == "INTERNAL_ERROR"
    sandbox_state.faults.clear()
    sandbox_state.faults.add("google_ads.search_stream", "stream_error", after_batches=after_batches)
    assert len(await google.list_conversion_actions(creds, _account(US))) == 2  # retried once, then fine


async def test_faults_can_be_armed_over_the_control_api(
    google: GoogleAdsProvider, creds: Credentials, sandbox_http
) -> None:
    sleeps = _recording(google)
    armed = await sandbox_http.post(
        "/sandbox/_control/faults",
        json={
            "operation": "google_ads.list_customers",
            "condition": "quota_429",
            "times": 2,
            "params": {"retry_delay": "5s"},
        },
    )
    assert armed.status_code == 201
    assert len(await google.list_accounts(creds)) == 5
    assert sleeps.waits == [5.0, 5.0]
